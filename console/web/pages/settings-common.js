// Pieces the settings tabs share: the permissions, a one-time secret with a Copy
// button, and the name of who did something.
import { ErrorBox, html, Notice, useEffect, useRef, useState } from "../lib/ui.js";

/** Every `Permission` of the API, with what it allows. */
export const PERMISSIONS = [
  ["AlertRead", "Read alerts"],
  ["AlertModify", "Change alerts"],
  ["AuditLogRead", "Read the audit log"],
  ["DeliveryPoll", "Poll deliveries"],
  ["DestinationRead", "Read destinations"],
  ["DestinationModify", "Change destinations"],
  ["GeneralSettingsRead", "Read general settings"],
  ["GeneralSettingsModify", "Change general settings"],
  ["OrganizationAPITokenRead", "Read API tokens"],
  ["OrganizationAPITokenModify", "Change API tokens"],
  ["RuleRead", "Read detections"],
  ["RuleModify", "Change detection overrides"],
  ["SummaryRead", "Read the dashboard"],
  ["UserRead", "Read users and roles"],
  ["UserModify", "Change users and roles"],
];

/** A checkbox option per permission: "AlertRead" labelled "AlertRead". */
export function permissionOptions(only) {
  return PERMISSIONS.filter(([p]) => !only || only.includes(p)).map(([p]) => [p, p]);
}

export function Permissions({ list }) {
  if (!list || list.length === 0) return html`<span class="muted">none</span>`;
  return html`<span class="perm-list">${list.map((p) => html`<span class="badge perm" title=${PERMISSIONS.find((x) => x[0] === p)?.[1] || p}>${p}</span>`)}</span>`;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("the browser refused to copy");
}

/** A value with a Copy button (`label` names the button for screen readers). */
export function CopyValue({ value, label = "Copy", kind = "value" }) {
  const [copied, setCopied] = useState(null);
  return html`<div class="copy-value">
    <div class="row secret-row">
      <code class="secret-value" data-kind=${kind}>${value}</code>
      <button type="button" aria-label=${label === "Copy" ? undefined : label} onClick=${async () => {
        try {
          await copyText(value);
          setCopied("Copied to the clipboard.");
        } catch (e) {
          setCopied(`Could not copy (${e.message}): select the text and copy it.`);
        }
      }}>Copy</button>
    </div>
    ${copied ? html`<small class="muted" role="status">${copied}</small>` : null}
  </div>`;
}

/**
 * A secret shown once (a token value, a set-password link): a warning, the value with
 * a Copy button, and Done to hide it.
 */
export function OneTimeSecret({ title, value, warning, onDone, kind = "secret" }) {
  const heading = useRef(null);
  useEffect(() => {
    // A new value: bring it into view and move the focus to it.
    heading.current.scrollIntoView({ block: "nearest" });
    heading.current.focus({ preventScroll: true });
  }, [value]);
  return html`<div class="panel one-time" role="region" aria-label=${title}>
    <h3 ref=${heading} tabindex="-1">${title}</h3>
    <p class="notice warn">${warning}</p>
    <${CopyValue} value=${value} kind=${kind} />
    ${onDone ? html`<p><button type="button" onClick=${onDone}>Done</button></p>` : null}
  </div>`;
}

/** The name of a user or token (an `Actor`), or a fallback. */
export function actorName(actor, fallback = "—") {
  if (!actor) return fallback;
  if (actor.__typename === "User") return actor.email;
  if (actor.__typename === "APIToken") return `token ${actor.name}`;
  return fallback;
}

/** `datetime-local` value (local time) → RFC 3339 UTC, or null when empty. */
export function localToIso(v) {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * The row actions of a settings list: `act(what, f)` runs `f` and reloads the list
 * either way; a failure is shown under `what`, a success by what `f` passed to
 * `setDone`. `outcome` renders the last of them.
 */
export function useActions(reload) {
  const [actionError, setActionError] = useState(null);
  const [done, setDone] = useState(null);
  async function act(what, f) {
    setActionError(null);
    setDone(null);
    try {
      await f();
    } catch (e) {
      setActionError({ what, error: e });
    }
    reload();
  }
  const outcome = html`${done ? html`<${Notice}>${done}</${Notice}>` : null}
    ${actionError ? html`<${ErrorBox} error=${actionError.error} title=${actionError.what} />` : null}`;
  return { act, setDone, outcome };
}
