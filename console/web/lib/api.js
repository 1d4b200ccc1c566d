// The console's only way to the server: the public API. `/auth/*` for who is signed in,
// `/graphql` for everything else (the same queries and mutations automation uses), and
// its WebSocket (graphql-transport-ws) for live updates.
import { createClient } from "../vendor/graphql-ws.js";

const TOKEN_KEY = "herald.token";

/** Who is signed in: {mode: "session"|"token", user, role, token, permissions}. */
export const auth = { mode: null, user: null, role: null, token: null, permissions: [] };

/** An error the API answered with: `code` is GraphQL's `extensions.code`. */
export class ApiError extends Error {
  constructor(message, code, errors = [], status = 0) {
    super(message);
    this.code = code || "ERROR";
    this.errors = errors;
    this.status = status;
  }
  /** The message of the error about `field` (`extensions.field`, else a message naming it). */
  about(field) {
    const named = new RegExp(`(^|[^A-Za-z0-9_])${field}([^A-Za-z0-9_]|$)`);
    const e =
      this.errors.find((e) => e.extensions?.field === field) ||
      this.errors.find((e) => named.test(e.message));
    return e ? e.message : null;
  }
}

export function can(permission) {
  return auth.permissions.includes(permission);
}

function headers(json = true) {
  const h = { "X-Herald-CSRF": "1" };
  if (json) h["content-type"] = "application/json";
  if (auth.mode === "token" && auth.token) h["X-API-Key"] = auth.token;
  return h;
}

async function json(r) {
  const text = await r.text();
  try {
    return JSON.parse(text);
  } catch {
    return { errors: [{ message: text || `HTTP ${r.status}` }] };
  }
}

function errorOf(body, status) {
  const errors = body.errors || [];
  const first = errors[0] || { message: `HTTP ${status}` };
  return new ApiError(first.message, first.extensions?.code, errors, status);
}

/** Runs a query or mutation; resolves with `data`, rejects with an ApiError. */
export async function gql(query, variables = {}) {
  let r;
  try {
    r = await fetch("/graphql", {
      method: "POST",
      headers: headers(),
      credentials: "same-origin",
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new ApiError(`Herald could not be reached: ${e.message}`, "NETWORK");
  }
  const body = await json(r);
  if (r.status === 401) {
    signedOut();
    throw errorOf(body, 401);
  }
  if (body.errors && body.errors.length) throw errorOf(body, r.status);
  if (!r.ok) throw errorOf(body, r.status);
  return body.data;
}

const listeners = new Set();
/** Called with no argument whenever who is signed in changes. */
export function onAuthChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}
function changed() {
  for (const f of listeners) f();
}

function reset() {
  Object.assign(auth, { mode: null, user: null, role: null, token: null, permissions: [] });
  closeLive();
}

function signedOut() {
  if (auth.mode) {
    sessionStorage.removeItem(TOKEN_KEY);
    reset();
    changed();
  }
}

/** Finds out who is signed in: the session cookie first, else a token kept in this tab. */
export async function restore() {
  reset();
  const r = await fetch("/auth/me?optional=true", { credentials: "same-origin" });
  const me = r.ok ? await r.json() : {};
  if (me.user) {
    Object.assign(auth, { mode: "session", user: me.user, role: me.role, permissions: me.permissions });
    return true;
  }
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      await useToken(token, false);
      return true;
    } catch {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }
  return false;
}

export async function options() {
  const r = await fetch("/auth/options");
  return r.ok ? r.json() : { password: true, sso: false, token: true };
}

export async function login(email, password) {
  const r = await fetch("/auth/login", {
    method: "POST",
    headers: { "content-type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ email, password }),
  });
  const body = await json(r);
  if (!r.ok) throw errorOf(body, r.status);
  await restore();
  changed();
}

/** Signs in with an API token, kept in session storage (this tab only). */
export async function useToken(token, notify = true) {
  const r = await fetch("/auth/me", { headers: { "X-API-Key": token }, credentials: "omit" });
  const body = await json(r);
  if (!r.ok) throw errorOf(body, r.status);
  Object.assign(auth, { mode: "token", token, user: null, role: null, permissions: body.permissions });
  auth.tokenInfo = body.token;
  sessionStorage.setItem(TOKEN_KEY, token);
  if (notify) changed();
}

export async function logout() {
  if (auth.mode === "session") {
    await fetch("/auth/logout", { method: "POST", headers: headers(), credentials: "same-origin" });
  }
  sessionStorage.removeItem(TOKEN_KEY);
  reset();
  changed();
}

let live = null;
function liveClient() {
  if (!live) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    live = createClient({
      url: `${proto}//${location.host}/graphql`,
      // A token goes in connection_init; a session is the cookie of the upgrade.
      connectionParams: () => (auth.mode === "token" ? { "x-api-key": auth.token } : {}),
      retryAttempts: 20,
      shouldRetry: () => true,
      lazy: true,
    });
  }
  return live;
}
function closeLive() {
  if (live) live.dispose();
  live = null;
}

/**
 * Subscribes to a GraphQL subscription: `onData(data)` for each event, `onError(ApiError)`
 * if the server refuses it. Returns the function that ends the subscription.
 */
export function subscribe(query, variables, onData, onError = () => {}) {
  return liveClient().subscribe(
    { query, variables },
    {
      next: (r) => {
        if (r.errors && r.errors.length) {
          const e = errorOf(r, 0);
          // A subscriber that fell behind is told so and carries on.
          if (e.code !== "SUBSCRIPTION_LAGGED") onError(e);
          else onData(null);
        } else onData(r.data);
      },
      error: (e) => onError(new ApiError(e?.reason || e?.message || "the live connection closed", "LIVE")),
      complete: () => {},
    },
  );
}
