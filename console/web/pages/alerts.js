// The alerts list: every filter of `alerts(input)` kept in the URL, cursor pages, sort
// by time, and live: new alerts that match the filters appear at the top, changed ones
// change in place, deliveries update their row's summary.
import { auth, can, gql, subscribe } from "../lib/api.js";
import { setQuery } from "../lib/router.js";
import {
  ALERT_TYPES,
  ErrorBox,
  Field,
  html,
  Loading,
  Notice,
  PageHeader,
  SEVERITIES,
  SeverityBadge,
  STATUSES,
  StatusBadge,
  Table,
  Time,
  useEffect,
  useLoad,
  useRef,
  useState,
} from "../lib/ui.js";

/** The fields of one delivery, with every attempt (the list and the alert page). */
export const DELIVERY_FIELDS = `deliveryId alertId outputId label kind status success statusCode message
  attemptCount dispatchedAt nextAttemptAt externalId url
  attempts { attemptNumber dispatchedAt durationMs statusCode success message }`;

/** The fields a row of the list shows (also what the live updates carry). */
export const ALERT_ROW = `id title severity status type detectionId createdAt updatedAt eventCount routed logType
  assignee { id email givenName familyName }
  origin { __typename ... on Detection { id name } ... on DeletedDetection { id } ... on SystemError { type relatedComponent } }
  deliveries { ${DELIVERY_FIELDS} }`;

const LIST = `query Alerts($input: AlertsInput) {
  alerts(input: $input) { edges { node { ${ALERT_ROW} } } pageInfo { endCursor hasNextPage hasPreviousPage startCursor } }
}`;
const CREATED = `subscription { alertCreated { ${ALERT_ROW} } }`;
const UPDATED = `subscription { alertUpdated { ${ALERT_ROW} } }`;
const DELIVERY = `subscription { deliveryUpdated { ${DELIVERY_FIELDS} } }`;
const USERS = `query { users { id email givenName familyName enabled } }`;

export const LISTING_TYPES = [
  ["ALERT", "Detection alerts", ["RULE", "SCHEDULED_RULE", "POLICY", "CORRELATION_RULE"]],
  ["DETECTION_ERROR", "Detection errors", ["RULE_ERROR", "SCHEDULED_RULE_ERROR", "CORRELATION_RULE_ERROR"]],
  ["SYSTEM_ERROR", "System errors", ["SYSTEM_ERROR"]],
];

/** A person's name for lists: given + family name, else the e-mail. */
export function userName(u) {
  if (!u) return null;
  const name = [u.givenName, u.familyName].filter(Boolean).join(" ");
  return name ? `${name} (${u.email})` : u.email;
}

/** What generated an alert, as text. */
export function detectionText(a) {
  const o = a.origin || {};
  if (o.__typename === "Detection") return o.name && o.name !== o.id ? `${o.name} (${o.id})` : o.id;
  if (o.__typename === "DeletedDetection") return `${o.id} (deleted)`;
  if (o.__typename === "SystemError") return `${o.type} · ${o.relatedComponent}`;
  return a.detectionId;
}

// Deliveries the live feed brought, by alert: an alert loaded (or announced) a moment
// before its delivery's newest state shows that state, whatever arrived first.
const recent = new Map();
const settled = (d) => d.status === "SUCCEEDED" || d.status === "FAILED";
const progress = (d) => d.attemptCount * 10 + (settled(d) ? 1 : 0);

/** Keeps a delivery from `deliveryUpdated` (the most advanced state of each). */
export function rememberDelivery(d) {
  if (!d || !d.alertId) return;
  let mine = recent.get(d.alertId);
  if (!mine) {
    mine = new Map();
    recent.set(d.alertId, mine);
    if (recent.size > 500) recent.delete(recent.keys().next().value);
  }
  const known = mine.get(d.deliveryId);
  if (!known || progress(d) >= progress(known)) mine.set(d.deliveryId, d);
}

/** The alert with the newest state of each delivery (loaded or live). */
export function withRecent(a) {
  const mine = a && recent.get(a.id);
  if (!mine) return a;
  const deliveries = a.deliveries.map((d) => {
    const live = mine.get(d.deliveryId);
    return live && progress(live) > progress(d) ? live : d;
  });
  for (const [id, d] of mine) if (!a.deliveries.some((x) => x.deliveryId === id)) deliveries.push(d);
  return { ...a, deliveries };
}

const DELIVERY_WORDS = { SUCCEEDED: "sent", FAILED: "failed", PENDING: "pending", IN_FLIGHT: "sending" };

/** "2 sent / 1 failed" for a row. */
export function DeliverySummary({ deliveries }) {
  if (!deliveries || deliveries.length === 0) return html`<span class="muted">none</span>`;
  const counts = {};
  for (const d of deliveries) counts[d.status] = (counts[d.status] || 0) + 1;
  const parts = Object.keys(DELIVERY_WORDS)
    .filter((s) => counts[s])
    .map((s) => html`<span class=${`dsum dsum-${s.toLowerCase()}`}>${counts[s]} ${DELIVERY_WORDS[s]}</span>`);
  return html`<span class="dsums">${parts.flatMap((p, i) => (i ? [" / ", p] : [p]))}</span>`;
}

/** The filters of the URL query, as the form and `alerts(input)` read them. */
function filtersOf(query) {
  return {
    sev: query.getAll("sev"),
    status: query.getAll("status"),
    type: query.get("type") || "",
    subtype: query.getAll("subtype"),
    detection: query.get("detection") || "",
    q: query.get("q") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
    routed: query.get("routed") || "",
    assignee: query.get("assignee") || "",
    logType: query.get("logType") || "",
    logSource: query.get("logSource") || "",
    resourceType: query.get("resourceType") || "",
    eventsMin: query.get("eventsMin") || "",
    eventsMax: query.get("eventsMax") || "",
    sort: query.get("sort") === "asc" ? "asc" : "desc",
    size: query.get("size") || "25",
    cursor: query.get("cursor") || "",
  };
}

const iso = (local) => {
  if (!local) return undefined;
  const d = new Date(local);
  return isNaN(d.getTime()) ? undefined : d.toISOString();
};
const int = (s) => (s === "" || s == null ? undefined : Number.parseInt(s, 10));

function inputOf(f) {
  return {
    severities: f.sev.length ? f.sev : undefined,
    statuses: f.status.length ? f.status : undefined,
    type: f.type || undefined,
    subtypes: f.subtype.length ? f.subtype : undefined,
    detectionId: f.detection || undefined,
    nameContains: f.q || undefined,
    createdAtAfter: iso(f.from),
    createdAtBefore: iso(f.to),
    routed: f.routed === "yes" ? true : f.routed === "no" ? false : undefined,
    assigneeIds: f.assignee ? [f.assignee] : undefined,
    logTypes: f.logType ? [f.logType] : undefined,
    logSources: f.logSource ? [f.logSource] : undefined,
    resourceTypes: f.resourceType ? [f.resourceType] : undefined,
    eventCountMin: int(f.eventsMin),
    eventCountMax: int(f.eventsMax),
    sortBy: "createdAt",
    sortDir: f.sort === "asc" ? "ascending" : "descending",
    pageSize: int(f.size) || 25,
    cursor: f.cursor || undefined,
  };
}

/**
 * Whether an alert the live feed brings matches the filters: true, false, or null when
 * a filter reads something the alert does not carry (log source, resource type).
 */
function matches(a, f) {
  if (f.logSource || f.resourceType) return null;
  if (f.sev.length && !f.sev.includes(a.severity)) return false;
  if (f.status.length && !f.status.includes(a.status)) return false;
  if (f.type && !LISTING_TYPES.find((t) => t[0] === f.type)[2].includes(a.type)) return false;
  if (f.subtype.length && !f.subtype.includes(a.type)) return false;
  if (f.detection && a.detectionId !== f.detection) return false;
  if (f.q && !a.title.toLowerCase().includes(f.q.toLowerCase())) return false;
  const at = new Date(a.createdAt).getTime();
  if (iso(f.from) && at < new Date(iso(f.from)).getTime()) return false;
  if (iso(f.to) && at > new Date(iso(f.to)).getTime()) return false;
  if (f.routed && a.routed !== (f.routed === "yes")) return false;
  if (f.assignee && a.assignee?.id !== f.assignee) return false;
  if (f.logType && a.logType !== f.logType) return false;
  if (int(f.eventsMin) !== undefined && a.eventCount < int(f.eventsMin)) return false;
  if (int(f.eventsMax) !== undefined && a.eventCount > int(f.eventsMax)) return false;
  return true;
}

function toQuery(f) {
  const { cursor, ...rest } = f;
  return {
    ...rest,
    sort: f.sort === "asc" ? "asc" : undefined,
    size: f.size === "25" ? undefined : f.size,
    cursor: cursor || undefined,
  };
}

function Filters({ filters, users }) {
  const [draft, setDraft] = useState(filters);
  const key = JSON.stringify(filters);
  useEffect(() => setDraft(filters), [key]);
  // Selects and checkboxes apply at once; typed fields on Apply (or Enter).
  const apply = (next) => setQuery(toQuery({ ...next, cursor: "" }));
  const now = (k) => (v) => {
    const next = { ...draft, [k]: v };
    setDraft(next);
    apply(next);
  };
  const typed = (k) => (v) => setDraft({ ...draft, [k]: v });
  const assignees = [["", "Anyone"]];
  if (users) assignees.push(...users.map((u) => [u.id, userName(u)]));
  else if (auth.user) assignees.push([auth.user.id, `Me (${auth.user.email})`]);
  if (draft.assignee && !assignees.some((a) => a[0] === draft.assignee)) assignees.push([draft.assignee, draft.assignee]);
  const subtypes = draft.type ? LISTING_TYPES.find((t) => t[0] === draft.type)[2] : ALERT_TYPES;
  const active = Object.entries(toQuery({ ...filters, sort: "desc", size: "25", cursor: "" })).filter(([, v]) => v && v.length).length;
  // Open on a wide screen, or when filters are applied; a phone starts with the list.
  const [open, setOpen] = useState(() => active > 0 || window.matchMedia("(min-width: 761px)").matches);
  return html`<details class="panel filters" open=${open} onToggle=${(e) => setOpen(e.currentTarget.open)}>
    <summary>Filters <span class="muted">· ${active ? `${active} applied` : "none"}</span></summary>
    <form aria-label="Filters" onSubmit=${(e) => {
    e.preventDefault();
    apply(draft);
  }}>
    <div class="filter-grid">
      <${Field} label="Title contains" value=${draft.q} onInput=${typed("q")} />
      <${Field} label="Detection" value=${draft.detection} onInput=${typed("detection")} placeholder="detection id" />
      <${Field} label="Created after" type="datetime-local" value=${draft.from} onInput=${typed("from")} />
      <${Field} label="Created before" type="datetime-local" value=${draft.to} onInput=${typed("to")} />
      <${Field} label="Kind" type="select" value=${draft.type} onInput=${(v) => {
          const next = { ...draft, type: v, subtype: [] };
          setDraft(next);
          apply(next);
        }}
        options=${[["", "Every kind"], ...LISTING_TYPES.map((t) => [t[0], t[1]])]} />
      <${Field} label="Routing" type="select" value=${draft.routed} onInput=${now("routed")}
        options=${[["", "Routed or not"], ["yes", "Routed"], ["no", "Unrouted"]]} />
      <${Field} label="Assignee" type="select" value=${draft.assignee} onInput=${now("assignee")} options=${assignees} />
      <${Field} label="Sort" type="select" value=${draft.sort} onInput=${now("sort")}
        options=${[["desc", "Newest first"], ["asc", "Oldest first"]]} />
    </div>
    <${Field} label="Severity" type="checkboxes" value=${draft.sev} onInput=${now("sev")} options=${SEVERITIES} />
    <${Field} label="Status" type="checkboxes" value=${draft.status} onInput=${now("status")} options=${STATUSES} />
    <details open=${!!(draft.subtype.length || draft.logType || draft.logSource || draft.resourceType || draft.eventsMin || draft.eventsMax)}>
      <summary>More filters</summary>
      <${Field} label="Alert type" type="checkboxes" value=${draft.subtype} onInput=${now("subtype")} options=${subtypes} />
      <div class="filter-grid">
        <${Field} label="Log type" value=${draft.logType} onInput=${typed("logType")} />
        <${Field} label="Log source" value=${draft.logSource} onInput=${typed("logSource")} />
        <${Field} label="Resource type" value=${draft.resourceType} onInput=${typed("resourceType")} />
        <${Field} label="At least events" type="number" min="1" value=${draft.eventsMin} onInput=${typed("eventsMin")} />
        <${Field} label="At most events" type="number" min="1" value=${draft.eventsMax} onInput=${typed("eventsMax")} />
      </div>
    </details>
    <div class="row">
      <button type="submit" class="primary">Apply filters</button>
      <button type="button" disabled=${!active} onClick=${() => setQuery({})}>Clear filters</button>
      <span class="muted">${active ? `${active} filter${active > 1 ? "s" : ""} applied` : "No filters"}</span>
    </div>
  </form></details>`;
}

export function Alerts({ query }) {
  const filters = filtersOf(query);
  const key = JSON.stringify(filters);
  const users = useLoad(() => (can("UserRead") ? gql(USERS).then((d) => d.users) : null), []);
  const list = useLoad(() => gql(LIST, { input: inputOf(filters) }).then((d) => ({
    rows: d.alerts.edges.map((e) => e.node),
    pageInfo: d.alerts.pageInfo,
  })), [key]);
  const [fresh, setFresh] = useState(() => new Set());
  const [missed, setMissed] = useState(0);
  const [live, setLive] = useState(null);
  const [back, setBack] = useState([]);
  const [, setTick] = useState(0);
  // Relative times ("3 min ago") stay true while the page is open.
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 30000);
    return () => clearInterval(t);
  }, []);
  const state = useRef({});
  // A live feed that fell behind (SUBSCRIPTION_LAGGED) reloads the page it shows.
  state.current = { filters, setData: list.setData, reload: list.reload };
  useEffect(() => {
    setFresh(new Set());
    setMissed(0);
  }, [key]);

  useEffect(() => {
    const failed = (e) => setLive(e);
    const created = subscribe(CREATED, {}, (d) => {
      if (!d) return state.current.reload();
      const a = d.alertCreated;
      const f = state.current.filters;
      const m = matches(a, f);
      if (m === false) return;
      // Only the first page of newest-first shows it at its place; elsewhere say so.
      if (m === null || f.sort === "asc" || f.cursor) {
        setMissed((n) => n + 1);
        return;
      }
      state.current.setData((data) => {
        if (!data || data.rows.some((r) => r.id === a.id)) return data;
        return { ...data, rows: [a, ...data.rows] };
      });
      setFresh((s) => new Set(s).add(a.id));
    }, failed);
    const updated = subscribe(UPDATED, {}, (d) => {
      if (!d) return state.current.reload();
      const a = d.alertUpdated;
      state.current.setData((data) =>
        data && data.rows.some((r) => r.id === a.id)
          ? { ...data, rows: data.rows.map((r) => (r.id === a.id ? a : r)) }
          : data,
      );
    }, failed);
    const delivery = subscribe(DELIVERY, {}, (d) => {
      if (!d) return state.current.reload();
      if (!d.deliveryUpdated.alertId) return;
      rememberDelivery(d.deliveryUpdated);
      setTick((n) => n + 1);
    }, failed);
    return () => {
      created();
      updated();
      delivery();
    };
  }, []);

  const columns = [
    { label: "Time", render: (a) => html`<${Time} value=${a.createdAt} />` },
    { label: "Severity", render: (a) => html`<${SeverityBadge} severity=${a.severity} />` },
    {
      label: "Title",
      render: (a) => html`<a href=${`/alerts/${encodeURIComponent(a.id)}`}>${a.title}</a>
        ${fresh.has(a.id) ? html` <span class="badge new-badge">new</span>` : null}
        ${a.eventCount > 1 ? html` <span class="muted">×${a.eventCount}</span>` : null}`,
    },
    {
      label: "Detection",
      render: (a) => html`<a class="quiet" href=${`/alerts?detection=${encodeURIComponent(a.detectionId)}`}
        title="Only this detection's alerts">${detectionText(a)}</a>`,
    },
    { label: "Status", render: (a) => html`<${StatusBadge} status=${a.status} />` },
    { label: "Assignee", render: (a) => (a.assignee ? userName(a.assignee) : html`<span class="muted">unassigned</span>`) },
    { label: "Deliveries", render: (a) => html`<${DeliverySummary} deliveries=${a.deliveries} />` },
  ];

  const page = (cursor, stack) => {
    setBack(stack);
    setQuery(toQuery({ ...filters, cursor }));
  };
  const data = list.data;
  return html`<${PageHeader} title="Alerts">
      <span class=${`live-dot ${live ? "off" : "on"}`} title=${live ? live.message : "Live: new and changed alerts appear here"}>
        ${live ? "Not live" : "Live"}</span>
    </${PageHeader}>
    <${Filters} filters=${filters} users=${users.data} />
    ${live ? html`<${ErrorBox} title="Live updates stopped" error=${live} />` : null}
    ${missed ? html`<${Notice} kind="warn">${missed} new alert${missed > 1 ? "s" : ""} may match these filters.
      <button type="button" onClick=${() => {
        setMissed(0);
        list.reload();
      }}>Refresh</button></${Notice}>` : null}
    <${ErrorBox} error=${list.error} />
    ${list.loading && !data ? html`<${Loading} what="Loading alerts" />` : null}
    ${data ? html`<div class=${list.loading ? "stale" : ""} aria-busy=${list.loading}>
      <${Table} caption=${`Alerts (${data.rows.length} on this page)`} columns=${columns} rows=${data.rows.map(withRecent)}
        empty="No alerts match these filters." />
      <nav class="row pager" aria-label="Pages">
        <button type="button" disabled=${!filters.cursor} onClick=${() => page("", [])}>First page</button>
        <button type="button" disabled=${!filters.cursor} onClick=${() => page(back[back.length - 1] || "", back.slice(0, -1))}>Previous page</button>
        <button type="button" disabled=${!data.pageInfo.hasNextPage}
          onClick=${() => page(data.pageInfo.endCursor, [...back, filters.cursor])}>Next page</button>
        <${Field} label="Per page" type="select" value=${filters.size}
          onInput=${(v) => setQuery(toQuery({ ...filters, size: v, cursor: "" }))}
          options=${[...new Set(["25", "50", "100", filters.size])].sort((x, y) => x - y)} />
      </nav>
    </div>` : null}`;
}
