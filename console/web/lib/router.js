// Client-side navigation: the server answers every console path with the same page
// (src/http/web.rs), and this keeps the path and the page in step (history API).
import { useEffect, useState } from "../vendor/preact-htm.js";

const subscribers = new Set();

export function currentPath() {
  return location.pathname + location.search;
}

export function navigate(to, { replace = false } = {}) {
  if (to === currentPath()) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  for (const f of subscribers) f();
}

window.addEventListener("popstate", () => {
  for (const f of subscribers) f();
});

// Same-origin links navigate without a reload (a modified click opens a new tab).
document.addEventListener("click", (e) => {
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download") || e.defaultPrevented) return;
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith("/graphql") || url.pathname.startsWith("/auth/")) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

/** The current path and query, re-rendering on every navigation. */
export function useLocation() {
  const [, tick] = useState(0);
  useEffect(() => {
    const f = () => tick((n) => n + 1);
    subscribers.add(f);
    return () => subscribers.delete(f);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

/** Replaces the query string (filters kept in the URL, so a page can be shared and reloaded). */
export function setQuery(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
    else if (v !== undefined && v !== null && v !== "") q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? `?${s}` : ""), { replace: true });
}

/**
 * Matches `path` against patterns like "/alerts/:id"; returns [route, params] for the
 * first that matches, or null.
 */
export function match(routes, path) {
  for (const route of routes) {
    const names = [];
    const re = new RegExp(
      "^" + route.path.replace(/:([A-Za-z]+)/g, (_, n) => (names.push(n), "([^/]+)")) + "/?$",
    );
    const m = path.match(re);
    if (m) return [route, Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]))];
  }
  return null;
}
