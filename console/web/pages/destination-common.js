// What the destinations pages share: the destination types (the `destinationTypes` query),
// the shape of each type's config input read by introspection, type icons, health,
// test sends, and the delete question that names the overrides sending to a destination.
import { can, gql } from "../lib/api.js";
import { html, Time, useState } from "../lib/ui.js";

export const HEALTH = "health { state lastSuccessAt lastAttemptAt lastError pendingCount consecutiveFailures pausedAt nextProbeAt }";
export const ROW = `outputId outputType displayName defaultForSeverity alertTypes logTypes warnings ${HEALTH}`;

let typesPromise = null;
/** Every destination type: {field, outputType, label, inputType, secretFields, targetFields}. */
export function loadTypes() {
  if (!typesPromise) {
    typesPromise = gql("query DestinationTypes { destinationTypes { field outputType label inputType secretFields targetFields } }")
      .then((d) => d.destinationTypes)
      .catch((e) => {
        typesPromise = null;
        throw e;
      });
  }
  return typesPromise;
}

const TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name } } }";
const TYPE_QUERY = `query InputType($name: String!) { __type(name: $name) { name kind description
  inputFields { name description defaultValue type { ${TYPE_REF} } } enumValues { name description } } }`;
const typeCache = new Map();

function introspect(name) {
  if (!typeCache.has(name)) {
    const p = gql(TYPE_QUERY, { name }).then((d) => {
      if (!d.__type) throw new Error(`the API has no type ${name}`);
      return d.__type;
    });
    p.catch(() => typeCache.delete(name));
    typeCache.set(name, p);
  }
  return typeCache.get(name);
}

/**
 * The fields of an input object as a form needs them: {name, description, required,
 * kind, options, shape}. kind: string, int, float, boolean, json, enum, enums (a list of
 * an enum), strings (a list of scalars), object (a nested input object: `shape`),
 * objects (a list of them).
 */
export async function shapeOf(name) {
  const t = await introspect(name);
  const fields = [];
  for (const f of t.inputFields || []) {
    let type = f.type;
    let required = false;
    if (type.kind === "NON_NULL") {
      required = true;
      type = type.ofType;
    }
    const field = { name: f.name, description: f.description || "", required, kind: "string" };
    let list = false;
    if (type.kind === "LIST") {
      list = true;
      type = type.ofType;
      if (type.kind === "NON_NULL") type = type.ofType;
    }
    if (type.kind === "INPUT_OBJECT") {
      field.kind = list ? "objects" : "object";
      field.shape = await shapeOf(type.name);
    } else if (type.kind === "ENUM") {
      field.kind = list ? "enums" : "enum";
      field.options = ((await introspect(type.name)).enumValues || []).map((v) => v.name);
    } else if (list) {
      field.kind = "strings";
    } else {
      field.kind = { Int: "int", Float: "float", Boolean: "boolean", String: "string", ID: "string" }[type.name] || "json";
    }
    fields.push(field);
  }
  return { name: t.name, description: t.description || "", fields };
}

const WORDS = { api: "API", url: "URL", urls: "URLs", id: "ID", ids: "IDs", gid: "GID", gids: "GIDs", arn: "ARN", smtp: "SMTP", hec: "HEC", sns: "SNS", sqs: "SQS", uri: "URI", aws: "AWS" };
const LABELS = {
  displayName: "Display name",
  defaultForSeverity: "Severities",
  alertTypes: "Alert types",
  logTypes: "Log types",
  maxRequestsPerSecond: "Max requests per second",
  maxConcurrency: "Max concurrent requests",
};
/** A field name for people: `webhookURL` → "Webhook URL", `apiUrl` → "API URL". */
export function labelOf(name) {
  if (LABELS[name]) return LABELS[name];
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(" ")
    .map((w) => WORDS[w.toLowerCase()] || w.toLowerCase());
  const first = words[0];
  words[0] = first === first.toLowerCase() ? first[0].toUpperCase() + first.slice(1) : first;
  return words.join(" ");
}

// Type icons: a coloured badge with the type's initials (drawn with CSS, no images).
const ICONS = {
  customwebhook: ["WH", "#3b3f8f"],
  polling: ["PL", "#4b5563"],
  slack: ["SL", "#4a154b"],
  slackbot: ["SB", "#611f69"],
  msteams: ["MT", "#464eb8"],
  discord: ["DC", "#5865f2"],
  pagerduty: ["PD", "#06ac38"],
  opsgenie: ["OG", "#0052cc"],
  jira: ["JI", "#0c66e4"],
  jiradatacenter: ["JD", "#1d4ed8"],
  github: ["GH", "#24292f"],
  asana: ["AS", "#e8384f"],
  sns: ["SN", "#c7511f"],
  sqs: ["SQ", "#b0084d"],
  googlepubsub: ["PS", "#1a73e8"],
  splunk: ["SP", "#65a637"],
  incidentio: ["IO", "#f25533"],
  tines: ["TI", "#8a4bff"],
  torq: ["TQ", "#0f766e"],
  blinkops: ["BO", "#2563eb"],
  mindflow: ["MF", "#7c3aed"],
  servicenow: ["NW", "#293e40"],
  rapid7: ["R7", "#e85e26"],
  email: ["@", "#0e7490"],
};

export function TypeIcon({ outputType, label }) {
  const [letters, colour] = ICONS[outputType] || [String(outputType || "?").slice(0, 2).toUpperCase(), "#6b7280"];
  return html`<span class="dtype-icon" role="img" aria-label=${label || outputType} title=${label || outputType}
    data-letters=${letters} style=${{ background: colour }}></span>`;
}

export function HealthBadge({ health }) {
  if (!health) return null;
  const state = health.state;
  return html`<span class=${`badge st-${state.toLowerCase()}`}>${state}</span>`;
}

/** The health of one destination, in a few words. */
export function HealthNote({ health }) {
  if (!health) return null;
  const parts = [];
  if (health.state === "PAUSED" && health.pausedAt) parts.push(html`paused <${Time} value=${health.pausedAt} />`);
  if (health.consecutiveFailures > 0) parts.push(`${health.consecutiveFailures} failed in a row`);
  if (!parts.length) return null;
  return html`<small class="muted dhealth-note">${parts.map((p, i) => html`${i ? ", " : ""}${p}`)}</small>`;
}

/** Sends the test alert to one destination; `[results, error, busy, send]`. */
export function useTestSend(outputId) {
  const [state, setState] = useState({ results: null, error: null, busy: false });
  const send = async () => {
    setState({ results: null, error: null, busy: true });
    try {
      const d = await gql(
        "mutation SendTestAlert($ids: [ID!]!) { sendTestAlert(input: {outputIds: $ids}) { outputId success statusCode message dispatchedAt } }",
        { ids: [outputId] },
      );
      setState({ results: d.sendTestAlert, error: null, busy: false });
    } catch (error) {
      setState({ results: null, error, busy: false });
    }
  };
  return [state, send];
}

/** The answers of a test send, inline. */
export function TestResults({ state, compact = false }) {
  if (state.busy) return html`<small class="muted" role="status">Sending the test alert…</small>`;
  if (state.error) return html`<small class="field-error" role="alert">Test alert not sent: ${state.error.message}</small>`;
  if (!state.results) return null;
  return html`<div class="test-results" role="status" aria-live="polite">${state.results.map(
    (r) => html`<div class=${`test-result ${r.success ? "ok" : "failed"}`}>
      <strong>${r.success ? "Test alert delivered" : "Test alert failed"}</strong>
      ${r.message && r.message.startsWith(`HTTP ${r.statusCode}`) ? null : html`<span class="mono"> HTTP ${r.statusCode || "—"}</span>`}
      ${r.message ? html`<span class=${compact ? "test-message clamp" : "test-message"} title=${r.message}> ${r.message}</span>` : null}
    </div>`,
  )}</div>`;
}

/** Detection overrides (when this principal may read them), to name them before a delete. */
export async function loadOverrides() {
  if (!can("RuleRead")) return null;
  const d = await gql("query Overrides { detectionOverrides { detectionId displayName outputIds } }");
  return d.detectionOverrides;
}

/** The overrides whose `outputIds` name this destination (by id or display name). */
export function referencing(overrides, dest) {
  if (!overrides) return [];
  const name = dest.displayName.toLowerCase();
  return overrides.filter((o) => (o.outputIds || []).some((x) => x === dest.outputId || x.toLowerCase() === name));
}

/** What the delete dialog asks. `overrides` null: they could not be read. */
export function deleteQuestion(dest, overrides) {
  const refs = referencing(overrides, dest);
  return html`<p><strong>Delete the destination “${dest.displayName}”?</strong> Alerts will no longer be sent to it, and its
    queued deliveries are dropped.</p>
    ${overrides === null
      ? html`<p class="muted">You may not read detection overrides, so whether any sends to it is not shown.</p>`
      : refs.length
        ? html`<p>These detection overrides send to it and will no longer reach it:</p>
            <ul class="override-refs">${refs.map(
              (o) => html`<li><a href=${`/overrides/${encodeURIComponent(o.detectionId)}`}>${o.displayName || o.detectionId}</a>
                ${o.displayName ? html` <span class="muted mono">${o.detectionId}</span>` : null}</li>`,
            )}</ul>`
        : html`<p class="muted">No detection override sends to it.</p>`}`;
}

export async function deleteDestination(outputId) {
  await gql("mutation DeleteDestination($id: ID!) { deleteDestination(id: $id) }", { id: outputId });
}

/** A message kept across one navigation (e.g. "Destination added" on the list). */
let flash = null;
export function setFlash(text) {
  flash = text;
}
export function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}
