// Sign-in: e-mail and password (a person's session), single sign-on when configured,
// or an API token kept in this tab's session storage.
import { login, options, useToken } from "../lib/api.js";
import { navigate } from "../lib/router.js";
import { ErrorBox, Field, html, useEffect, useState, useSubmit } from "../lib/ui.js";

export function SignIn({ next }) {
  const [ways, setWays] = useState({ password: true, sso: false, token: true });
  const [mode, setMode] = useState("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  useEffect(() => {
    document.title = "Sign in · Herald";
    options().then(setWays);
  }, []);
  const { submit, error, busy } = useSubmit(async () => {
    if (mode === "password") await login(email.trim(), password);
    else await useToken(token.trim());
    navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
  });
  return html`<main id="main" class="signin">
    <h1>Sign in to Herald</h1>
    <div class="tabs" role="tablist">
      <button role="tab" type="button" aria-selected=${mode === "password"} onClick=${() => setMode("password")}>E-mail and password</button>
      <button role="tab" type="button" aria-selected=${mode === "token"} onClick=${() => setMode("token")}>API token</button>
    </div>
    <form onSubmit=${submit} aria-label="Sign in">
      ${mode === "password"
        ? html`<${Field} label="E-mail" name="email" type="email" autocomplete="username" required value=${email} onInput=${setEmail} />
            <${Field} label="Password" name="password" type="password" autocomplete="current-password" required value=${password} onInput=${setPassword} />`
        : html`<${Field} label="API token" name="token" type="password" autocomplete="off" required value=${token} onInput=${setToken}
              hint="Kept in this tab only (session storage) and sent as X-API-Key." />`}
      <${ErrorBox} error=${error} />
      <button class="primary" type="submit" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    ${ways.sso ? html`<p class="sso"><a class="button" href="/auth/oidc/login">Sign in with single sign-on</a></p>` : null}
  </main>`;
}
