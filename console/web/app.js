// The console's entry: who is signed in, the navigation, and which page a path shows.
import { html, render, useEffect, useState } from "./vendor/preact-htm.js";
import { auth, can, logout, onAuthChange, restore } from "./lib/api.js";
import { match, navigate, useLocation } from "./lib/router.js";
import { Loading } from "./lib/ui.js";
import { SignIn } from "./pages/signin.js";
import { Dashboard } from "./pages/dashboard.js";
import { Alerts } from "./pages/alerts.js";
import { AlertPage } from "./pages/alert.js";
import { Destinations } from "./pages/destinations.js";
import { Overrides } from "./pages/overrides.js";
import { Settings } from "./pages/settings.js";

const NEXT_KEY = "herald.next";

// Each page, the permission it needs to be listed in the navigation.
const ROUTES = [
  { path: "/", page: Dashboard, nav: "Dashboard", needs: "SummaryRead" },
  { path: "/dashboard", page: Dashboard, needs: "SummaryRead" },
  { path: "/alerts", page: Alerts, nav: "Alerts", needs: "AlertRead" },
  { path: "/alerts/:id", page: AlertPage, needs: "AlertRead" },
  { path: "/destinations", page: Destinations, nav: "Destinations", needs: "DestinationRead" },
  { path: "/destinations/:id", page: Destinations, needs: "DestinationRead" },
  { path: "/overrides", page: Overrides, nav: "Detection overrides", needs: "RuleRead" },
  { path: "/overrides/:id", page: Overrides, needs: "RuleRead" },
  { path: "/settings", page: Settings, nav: "Settings" },
  { path: "/settings/:tab", page: Settings },
];

function Nav({ path }) {
  const [open, setOpen] = useState(false);
  const links = ROUTES.filter((r) => r.nav && (!r.needs || can(r.needs)));
  const current = (r) => (r.path === "/" ? path === "/" || path === "/dashboard" : path.startsWith(r.path));
  const who = auth.mode === "session" ? auth.user.email : `API token ${auth.tokenInfo?.name || ""}`;
  return html`<nav class="top" aria-label="Main">
    <a class="brand" href="/">Herald</a>
    <button class="menu" aria-expanded=${open} aria-controls="nav-links" onClick=${() => setOpen(!open)}>Menu</button>
    <ul id="nav-links" class=${open ? "open" : ""} onClick=${() => setOpen(false)}>
      ${links.map((r) => html`<li><a href=${r.path} aria-current=${current(r) ? "page" : undefined}>${r.nav}</a></li>`)}
    </ul>
    <div class="who">
      <span class="who-name" title=${who}>${who}</span>
      ${auth.role ? html`<span class="badge role">${auth.role.name}</span>` : null}
      <button type="button" onClick=${async () => {
        await logout();
        navigate("/signin", { replace: true });
      }}>Sign out</button>
    </div>
  </nav>`;
}

function Forbidden({ needs }) {
  return html`<section><h1>Not available</h1><p>This page needs the <code>${needs}</code> permission, which you do not have.</p></section>`;
}

function App() {
  const [ready, setReady] = useState(false);
  const [, tick] = useState(0);
  const { path, query } = useLocation();
  useEffect(() => {
    restore().then(() => setReady(true));
    return onAuthChange(() => tick((n) => n + 1));
  }, []);
  if (!ready) return html`<${Loading} what="Signing in" />`;
  if (!auth.mode) {
    if (path !== "/signin") {
      // Back to this page after signing in (SSO included: it returns to /).
      sessionStorage.setItem(NEXT_KEY, location.pathname + location.search);
      navigate(`/signin?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
      return null;
    }
    return html`<${SignIn} next=${query.get("next") || "/"} />`;
  }
  const next = sessionStorage.getItem(NEXT_KEY);
  if (path === "/signin" || (next && path === "/")) {
    sessionStorage.removeItem(NEXT_KEY);
    const to = path === "/signin" ? query.get("next") || next || "/" : next;
    navigate(to.startsWith("/") && !to.startsWith("//") ? to : "/", { replace: true });
    return null;
  }
  sessionStorage.removeItem(NEXT_KEY);
  const found = match(ROUTES, path);
  let body;
  if (!found) body = html`<section><h1>Not found</h1><p>No page at <code>${path}</code>. <a href="/">Go to the dashboard</a>.</p></section>`;
  else if (found[0].needs && !can(found[0].needs)) {
    // The landing page falls back to the first page this principal may see.
    const first = ROUTES.find((r) => r.nav && (!r.needs || can(r.needs)));
    if (path === "/" && first && first.path !== "/") {
      navigate(first.path, { replace: true });
      return null;
    }
    body = html`<${Forbidden} needs=${found[0].needs} />`;
  } else {
    const Page = found[0].page;
    body = html`<${Page} key=${found[0].path} params=${found[1]} query=${query} path=${path} />`;
  }
  return html`<${Nav} path=${path} /><main id="main">${body}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));
