// One alert (the `link` every payload carries): what it is, its events, where routing
// sent it and why, every delivery with every attempt, and (with AlertModify) its status,
// assignee, comments and re-sending. Live: changes and deliveries arrive without reload.
import { auth, can, gql, subscribe } from "../lib/api.js";
import {
  ErrorBox,
  Field,
  html,
  Json,
  Loading,
  Notice,
  PageHeader,
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
import { DELIVERY_FIELDS, DeliverySummary, detectionText, rememberDelivery, userName, withRecent } from "./alerts.js";

const ALERT_FIELDS = `id link title severity status type detectionId createdAt updatedAt eventCount deduplicated routed
  description runbook reference tags logType dedupString createdBy lastModifiedBy alertContext
  firstEventOccurredAt lastReceivedEventAt assigneeId
  assignee { id email givenName familyName }
  updatedBy { __typename ... on User { email } ... on APIToken { name } }
  origin { __typename ... on Detection { id name } ... on DeletedDetection { id } ... on SystemError { type relatedComponent } }
  routing { step effectiveSeverity warnings destinations { outputId displayName } excluded { outputId displayName reasons } }
  comments { id body format createdAt createdBy }
  deliveries { ${DELIVERY_FIELDS} }`;

const ALERT = `query Alert($id: ID!) { alert(id: $id) { ${ALERT_FIELDS} } }`;
const EVENTS = `query Events($id: ID!, $cursor: String) {
  alert(id: $id) { id events(input: {cursor: $cursor, pageSize: 25}) { edges { node } pageInfo { endCursor hasNextPage } } }
}`;
const UPDATED = `subscription { alertUpdated { ${ALERT_FIELDS} } }`;
const DELIVERY = `subscription Deliveries($id: ID) { deliveryUpdated(alertId: $id) { ${DELIVERY_FIELDS} } }`;
const USERS = `query { users { id email givenName familyName enabled } }`;
const DESTINATIONS = `query { destinations { outputId displayName outputType } }`;
const SET_STATUS = `mutation Status($input: UpdateAlertStatusByIdInput!) {
  updateAlertStatusById(input: $input) { alerts { ${ALERT_FIELDS} } }
}`;
const SET_ASSIGNEE = `mutation Assignee($input: UpdateAlertsAssigneeByIdInput!) {
  updateAlertsAssigneeById(input: $input) { alerts { ${ALERT_FIELDS} } }
}`;
const ASSIGN_BY_EMAIL = `mutation AssignByEmail($input: UpdateAlertsAssigneeByEmailInput!) {
  updateAlertsAssigneeByEmail(input: $input) { alerts { ${ALERT_FIELDS} } }
}`;
const COMMENT = `mutation Comment($input: CreateAlertCommentInput!) {
  createAlertComment(input: $input) { comment { id body format createdAt createdBy } }
}`;
const DELIVER = `mutation Deliver($input: DeliverAlertInput!) { deliverAlert(input: $input) { ${ALERT_FIELDS} } }`;

const STEPS = {
  DESTINATION_CONFIGURATION: "Destination configuration (severity, alert type, log type)",
  DETECTION_OVERRIDE: "Detection override",
  GENERATED_DESTINATIONS: "Destinations the detection generated",
  SKIPPED: "Skipped (the detection asked for no delivery)",
};

function parseJson(s) {
  if (typeof s !== "string") return s;
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

const ms = (n) => (n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${n} ms`);

function Facts({ alert: a }) {
  const ctx = parseJson(a.alertContext);
  const by = a.updatedBy ? a.updatedBy.email || `token ${a.updatedBy.name}` : null;
  return html`<div class="grid2 alert-facts">
    <section class="panel">
      <h2 class="first">About</h2>
      <dl class="facts">
        <dt>Severity</dt><dd><${SeverityBadge} severity=${a.severity} /></dd>
        <dt>Status</dt><dd><${StatusBadge} status=${a.status} />${by ? html` <span class="muted">by ${by}</span>` : null}</dd>
        <dt>Type</dt><dd>${a.type}</dd>
        <dt>Detection</dt><dd><a href=${`/alerts?detection=${encodeURIComponent(a.detectionId)}`}>${detectionText(a)}</a></dd>
        <dt>Assignee</dt><dd>${a.assignee ? userName(a.assignee) : html`<span class="muted">unassigned</span>`}</dd>
        <dt>Created</dt><dd><${Time} value=${a.createdAt} /> <span class="muted">${new Date(a.createdAt).toISOString()}</span></dd>
        <dt>Updated</dt><dd><${Time} value=${a.updatedAt} /> <span class="muted">by ${a.lastModifiedBy}</span></dd>
        <dt>Events</dt><dd>${a.eventCount} ${a.eventCount === 1 ? "match" : "matches"}${a.deduplicated ? " (joined by dedup)" : ""}
          <span class="muted"> · first <${Time} value=${a.firstEventOccurredAt} />, last <${Time} value=${a.lastReceivedEventAt} /></span></dd>
        <dt>Dedup key</dt><dd class="mono">${a.dedupString || html`<span class="muted">none</span>`}</dd>
        ${a.logType ? html`<dt>Log type</dt><dd>${a.logType}</dd>` : null}
        <dt>Link</dt><dd><a href=${a.link}>${a.link}</a></dd>
        ${a.reference ? html`<dt>Reference</dt><dd>${/^https?:\/\//.test(a.reference) ? html`<a href=${a.reference} rel="noopener noreferrer" target="_blank">${a.reference}</a>` : a.reference}</dd>` : null}
        <dt>Runbook</dt><dd class="prewrap">${a.runbook || html`<span class="muted">none</span>`}</dd>
        <dt>Tags</dt><dd>${a.tags.length ? a.tags.map((t) => html`<span class="badge tag">${t}</span> `) : html`<span class="muted">none</span>`}</dd>
        <dt>Created by</dt><dd>${a.createdBy}</dd>
      </dl>
      ${a.description ? html`<h3>Description</h3><p class="prewrap">${a.description}</p>` : null}
    </section>
    <section class="panel">
      <h2 class="first">Alert context</h2>
      <${Json} value=${ctx} />
    </section>
  </div>`;
}

function Routing({ routing: r, routed }) {
  return html`<section class="panel routing">
    <h2 class="first">Routing</h2>
    <dl class="facts">
      <dt>Decided by</dt><dd>${STEPS[r.step] || r.step}</dd>
      <dt>Severity used</dt><dd><${SeverityBadge} severity=${r.effectiveSeverity} /></dd>
      <dt>Destinations</dt><dd>${r.destinations.length
        ? r.destinations.map((d, i) => html`${i ? ", " : ""}${can("DestinationRead")
          ? html`<a href=${`/destinations/${encodeURIComponent(d.outputId)}`}>${d.displayName}</a>`
          : d.displayName}`)
        : html`<span class="muted">${routed ? "none" : "none: no destination matched (unrouted)"}</span>`}</dd>
      ${r.excluded.length ? html`<dt>Excluded</dt><dd><ul class="plain">${r.excluded.map(
        (x) => html`<li>${x.displayName}: <span class="muted">${x.reasons.map((y) => reasonText[y] || y).join(", ")}</span></li>`,
      )}</ul></dd>` : null}
      ${r.warnings.length ? html`<dt>Warnings</dt><dd><ul class="plain">${r.warnings.map((w) => html`<li>${w}</li>`)}</ul></dd>` : null}
    </dl>
  </section>`;
}
const reasonText = {
  SEVERITY: "severity not taken",
  ALERT_TYPE: "alert type not taken",
  LOG_TYPE: "log type not taken",
};

function Deliveries({ deliveries }) {
  if (!deliveries.length) return html`<p class="muted">No deliveries.</p>`;
  return html`${deliveries.map((d) => html`<article class="panel delivery" key=${d.deliveryId} aria-label=${`Delivery to ${d.label}`}>
    <div class="row delivery-head">
      <strong>${d.label}</strong>
      <span class=${`badge st-${d.status === "SUCCEEDED" ? "success" : d.status === "IN_FLIGHT" ? "pending" : d.status.toLowerCase()}`}>${d.status}</span>
      <span class="badge kind">${d.kind}</span>
      ${d.statusCode != null ? html`<span class="muted">HTTP ${d.statusCode}</span>` : null}
      ${d.url ? html`<a href=${d.url} target="_blank" rel="noopener noreferrer">${d.externalId || "open"}</a>` : d.externalId ? html`<span class="mono">${d.externalId}</span>` : null}
      <span class="muted">${d.attemptCount} attempt${d.attemptCount === 1 ? "" : "s"}</span>
      ${d.nextAttemptAt ? html`<span>Next retry <${Time} value=${d.nextAttemptAt} /></span>` : null}
    </div>
    ${d.message && !d.success ? html`<p class="muted msg">${d.message}</p>` : null}
    <${Table} caption=${`Attempts to ${d.label}`} rowKey=${(x) => x.attemptNumber} rows=${d.attempts} empty="No attempt yet."
      columns=${[
        { label: "#", render: (x) => x.attemptNumber },
        { label: "Result", render: (x) => html`<span class=${`badge ${x.success ? "st-success" : "st-failed"}`}>${x.success ? "sent" : "failed"}</span>` },
        { label: "Status code", render: (x) => (x.statusCode ? x.statusCode : html`<span class="muted">0 (not sent)</span>`) },
        { label: "Message", render: (x) => html`<span class="msg">${x.message || html`<span class="muted">—</span>`}</span>` },
        { label: "Duration", render: (x) => ms(x.durationMs) },
        { label: "Time", render: (x) => html`<${Time} value=${x.dispatchedAt} />` },
      ]} />
  </article>`)}`;
}

function Events({ id, count }) {
  const [pages, setPages] = useState({ rows: [], cursor: null, more: false });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(true);
  const load = async (cursor, rows) => {
    setBusy(true);
    try {
      const d = await gql(EVENTS, { id, cursor });
      const ev = d.alert?.events;
      setPages({
        rows: [...rows, ...(ev ? ev.edges.map((e) => e.node) : [])],
        cursor: ev?.pageInfo.endCursor,
        more: !!ev?.pageInfo.hasNextPage,
      });
      setError(null);
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };
  // The first page again whenever dedup joined more events.
  useEffect(() => {
    load(null, []);
  }, [id, count]);
  return html`<section class="panel">
    <h2 class="first">Events <span class="muted">(${pages.rows.length} shown of ${count})</span></h2>
    <${ErrorBox} error=${error} />
    ${pages.rows.length === 0 && !busy ? html`<p class="muted">No events were stored with this alert.</p>` : null}
    ${pages.rows.map((e, i) => html`<details class="event" open=${i === 0}>
      <summary>Event ${i + 1}</summary><${Json} value=${parseJson(e)} /></details>`)}
    ${pages.more ? html`<button type="button" disabled=${busy} onClick=${() => load(pages.cursor, pages.rows)}>More events</button>` : null}
  </section>`;
}

function StatusForm({ alert: a, onSaved }) {
  const [status, setStatus] = useState(a.status);
  const [state, setState] = useState({});
  useEffect(() => setStatus(a.status), [a.status]);
  return html`<form class="inline-form" aria-label="Status" onSubmit=${async (e) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      const d = await gql(SET_STATUS, { input: { ids: [a.id], status } });
      onSaved(d.updateAlertStatusById.alerts[0]);
      setState({ done: `Status saved: ${status}` });
    } catch (err) {
      setState({ error: err });
    }
  }}>
    <${Field} label="Status" type="select" value=${status} onInput=${setStatus} options=${STATUSES} error=${state.error?.about("status")} />
    <button type="submit" class="primary" disabled=${state.busy || status === a.status}>Save status</button>
    ${state.done ? html`<${Notice}>${state.done}</${Notice}>` : null}
    ${state.error && !state.error.about("status") ? html`<${ErrorBox} error=${state.error} />` : null}
  </form>`;
}

function AssigneeForm({ alert: a, users, onSaved }) {
  const [pick, setPick] = useState(a.assignee?.id || "");
  const [state, setState] = useState({});
  useEffect(() => setPick(a.assignee?.id || ""), [a.assignee?.id]);
  const save = async (to) => {
    setState({ busy: true });
    try {
      let alert;
      if (users) {
        const d = await gql(SET_ASSIGNEE, { input: { ids: [a.id], assigneeId: to || null } });
        alert = d.updateAlertsAssigneeById.alerts[0];
      } else {
        // Without UserRead: oneself (by e-mail) or nobody.
        const d = await gql(ASSIGN_BY_EMAIL, { input: { ids: [a.id], assigneeEmail: to ? auth.user.email : null } });
        alert = d.updateAlertsAssigneeByEmail.alerts[0];
      }
      onSaved(alert);
      setState({ done: alert.assignee ? `Assigned to ${userName(alert.assignee)}` : "Unassigned" });
    } catch (err) {
      setState({ error: err });
    }
  };
  let control;
  if (users) {
    const options = [["", "Nobody"], ...users.filter((u) => u.enabled || u.id === pick).map((u) => [u.id, userName(u)])];
    control = html`<${Field} label="Assignee" type="select" value=${pick} onInput=${setPick} options=${options}
      error=${state.error?.about("assigneeId")} />
      <button type="submit" class="primary" disabled=${state.busy || pick === (a.assignee?.id || "")}>Save assignee</button>`;
  } else if (auth.user) {
    const mine = a.assignee?.id === auth.user.id;
    control = html`<button type="button" disabled=${state.busy || mine} onClick=${() => save(auth.user.id)}>Assign to me</button>`;
  }
  return html`<form class="inline-form" aria-label="Assignee" onSubmit=${(e) => {
    e.preventDefault();
    save(pick);
  }}>
    ${control}
    <button type="button" disabled=${state.busy || !a.assignee} onClick=${() => save(null)}>Unassign</button>
    ${state.done ? html`<${Notice}>${state.done}</${Notice}>` : null}
    ${state.error && !state.error.about("assigneeId") ? html`<${ErrorBox} error=${state.error} />` : null}
  </form>`;
}

function Comments({ alert: a, onAdded }) {
  const [body, setBody] = useState("");
  const [format, setFormat] = useState("PLAIN_TEXT");
  const [state, setState] = useState({});
  return html`<section class="panel">
    <h2 class="first">Comments <span class="muted">(${a.comments.length})</span></h2>
    ${a.comments.length === 0 ? html`<p class="muted">No comments yet.</p>` : html`<ol class="comments">
      ${a.comments.map((c) => html`<li key=${c.id}>
        <div class="muted"><strong>${c.createdBy}</strong> · <${Time} value=${c.createdAt} /></div>
        ${c.format === "HTML"
          ? html`<div class="comment-body" dangerouslySetInnerHTML=${{ __html: c.body }} />`
          : html`<div class="comment-body prewrap">${c.body}</div>`}
      </li>`)}
    </ol>`}
    ${can("AlertModify") ? html`<form aria-label="Add a comment" onSubmit=${async (e) => {
      e.preventDefault();
      setState({ busy: true });
      try {
        const d = await gql(COMMENT, { input: { alertId: a.id, body, format } });
        onAdded(d.createAlertComment.comment);
        setBody("");
        setState({ done: "Comment added" });
      } catch (err) {
        setState({ error: err });
      }
    }}>
      <${Field} label="Comment" type="textarea" rows="3" value=${body} onInput=${setBody} required error=${state.error?.about("body")} />
      <div class="row">
        <${Field} label="Format" type="select" value=${format} onInput=${setFormat}
          options=${[["PLAIN_TEXT", "Plain text"], ["HTML", "HTML (sanitized)"]]} />
        <button type="submit" class="primary" disabled=${state.busy || !body.trim()}>Add comment</button>
        ${state.done ? html`<${Notice}>${state.done}</${Notice}>` : null}
      </div>
      ${state.error && !state.error.about("body") ? html`<${ErrorBox} error=${state.error} />` : null}
    </form>` : null}
  </section>`;
}

function Resend({ alert: a, destinations, onSent }) {
  const [chosen, setChosen] = useState([]);
  const [state, setState] = useState({});
  // Every destination when this principal may read them, else those this alert knows.
  const known = new Map();
  for (const d of destinations || []) known.set(d.outputId, d.displayName);
  for (const d of a.routing.destinations) if (!known.has(d.outputId)) known.set(d.outputId, d.displayName);
  for (const d of a.deliveries) if (!known.has(d.outputId)) known.set(d.outputId, d.label);
  const options = [...known.entries()];
  if (options.length === 0) return html`<p class="muted">No destination to re-send to.</p>`;
  return html`<form aria-label="Re-send" onSubmit=${async (e) => {
    e.preventDefault();
    setState({ busy: true });
    try {
      const d = await gql(DELIVER, { input: { alertId: a.id, outputIds: chosen } });
      onSent(d.deliverAlert);
      setState({ done: `Re-sent to ${chosen.map((c) => known.get(c)).join(", ")}` });
      setChosen([]);
    } catch (err) {
      setState({ error: err });
    }
  }}>
    <${Field} label="Re-send to" type="checkboxes" value=${chosen} onInput=${setChosen} options=${options}
      error=${state.error?.about("outputIds")} hint="Sent now, bypassing routing; the title is prefixed [Re-sent]." />
    <div class="row">
      <button type="submit" class="primary" disabled=${state.busy || chosen.length === 0}>Re-send</button>
      ${state.done ? html`<${Notice}>${state.done}</${Notice}>` : null}
    </div>
    ${state.error && !state.error.about("outputIds") ? html`<${ErrorBox} error=${state.error} />` : null}
  </form>`;
}

export function AlertPage({ params }) {
  const id = params.id;
  const alert = useLoad(() => gql(ALERT, { id }).then((d) => d.alert), [id]);
  const modify = can("AlertModify");
  const users = useLoad(() => (modify && can("UserRead") ? gql(USERS).then((d) => d.users) : null), []);
  const destinations = useLoad(() => (modify && can("DestinationRead") ? gql(DESTINATIONS).then((d) => d.destinations) : null), []);
  const [live, setLive] = useState(null);
  const setData = useRef(alert.setData);
  setData.current = alert.setData;
  // A live feed that fell behind (SUBSCRIPTION_LAGGED) loads the alert again.
  const reload = useRef(alert.reload);
  reload.current = alert.reload;
  const replace = (a) => setData.current(a);
  const [, setTick] = useState(0);
  // Relative times ("3 min ago") stay true while the page is open.
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 30000);
    return () => clearInterval(t);
  }, []);

  useEffect(() => {
    const updated = subscribe(UPDATED, {}, (d) => {
      if (!d) reload.current();
      else if (d.alertUpdated.id === id) replace(d.alertUpdated);
    }, setLive);
    const delivery = subscribe(DELIVERY, { id }, (d) => {
      if (!d) return reload.current();
      rememberDelivery(d.deliveryUpdated);
      setTick((n) => n + 1);
    }, setLive);
    return () => {
      updated();
      delivery();
    };
  }, [id]);

  if (alert.error) return html`<${PageHeader} title="Alert" /><${ErrorBox} error=${alert.error} />`;
  if (!alert.data) {
    if (alert.loading) return html`<${PageHeader} title="Alert" /><${Loading} what="Loading the alert" />`;
    return html`<${PageHeader} title="Alert not found" /><p>No alert has the id <code>${id}</code>. <a href="/alerts">All alerts</a>.</p>`;
  }
  const a = withRecent(alert.data);
  return html`<div class="alert-page"><nav class="crumbs" aria-label="Breadcrumb"><a href="/alerts">Alerts</a> › <span class="mono">${a.id}</span></nav>
    <${PageHeader} title=${a.title}>
      <${SeverityBadge} severity=${a.severity} /><${StatusBadge} status=${a.status} />
      <span class=${`live-dot ${live ? "off" : "on"}`} title=${live ? live.message : "Live: changes and deliveries appear here"}>${live ? "Not live" : "Live"}</span>
    </${PageHeader}>
    ${live ? html`<${ErrorBox} title="Live updates stopped" error=${live} />` : null}
    ${modify ? html`<section class="panel actions-panel" aria-label="Triage">
      <${StatusForm} alert=${a} onSaved=${replace} />
      <${AssigneeForm} alert=${a} users=${users.data} onSaved=${replace} />
    </section>` : null}
    <${Facts} alert=${a} />
    <${Routing} routing=${a.routing} routed=${a.routed} />
    <section class="panel deliveries">
      <h2 class="first">Deliveries <span class="muted">(<${DeliverySummary} deliveries=${a.deliveries} />)</span></h2>
      <${Deliveries} deliveries=${a.deliveries} />
      ${modify ? html`<h3>Re-send</h3><${Resend} alert=${a} destinations=${destinations.data} onSent=${replace} />` : null}
    </section>
    <${Comments} alert=${a} onAdded=${(c) => setData.current((old) => (old.comments.some((x) => x.id === c.id) ? old : { ...old, comments: [...old.comments, c] }))} />
    <${Events} id=${a.id} count=${a.eventCount} /></div>`;
}
