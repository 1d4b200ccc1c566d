// Detection overrides: Panther's per-detection settings (destinations, severity, dedup
// period, runbook, tags), their list, their form, and "Where would this go?" — the
// routing dry run (`routeAlert`) that says which precedence step decides and why.
import { can, gql } from "../lib/api.js";
import { navigate } from "../lib/router.js";
import {
  ALERT_TYPES,
  ConfirmButton,
  ErrorBox,
  Field,
  Loading,
  Notice,
  PageHeader,
  SEVERITIES,
  SeverityBadge,
  Table,
  Time,
  html,
  useEffect,
  useLoad,
  useState,
} from "../lib/ui.js";

const SKIP = "SKIP";
const FIELDS = "detectionId displayName outputIds severity dedupPeriodMinutes runbook tags createdBy creationTime lastModifiedBy lastModifiedTime";
const LIST = `{ detectionOverrides { ${FIELDS} } }`;
const ONE = `query($id: ID!) { detectionOverride(detectionId: $id) { ${FIELDS} } }`;
const DESTINATIONS = "{ destinations { outputId displayName outputType defaultForSeverity alertTypes logTypes } }";
const PUT = `mutation($input: DetectionOverrideInput!) { putDetectionOverride(input: $input) { ${FIELDS} } }`;
const DELETE = "mutation($id: ID!) { deleteDetectionOverride(detectionId: $id) }";
const ROUTE = `query($input: CreateAlertInput!) { routeAlert(input: $input) {
  step effectiveSeverity warnings
  destinations { outputId displayName }
  excluded { outputId displayName reasons } } }`;

// A message shown once on the next page (after a save that changes the path, a delete).
let flash = null;

const overridePath = (id) => `/overrides/${encodeURIComponent(id)}`;

/** The destinations by id (empty when the principal may not read them). */
function useDestinations() {
  return useLoad(async () => (can("DestinationRead") ? (await gql(DESTINATIONS)).destinations : []), []);
}

function destinationName(id, destinations) {
  const d = (destinations || []).find((d) => d.outputId === id);
  return d ? d.displayName : id;
}

function Destinations({ ids, destinations }) {
  if (!ids || ids.length === 0) return html`<span class="muted">Destination configuration</span>`;
  if (ids.includes(SKIP)) return html`<strong>Send nowhere</strong>`;
  return html`<ul class="ov-names">${ids.map((id) => html`<li>${destinationName(id, destinations)}</li>`)}</ul>`;
}

function Tags({ tags }) {
  if (!tags || tags.length === 0) return html`<span class="muted">—</span>`;
  return html`<span class="ov-tags">${tags.map((t) => html`<span class="badge ov-tag">${t}</span>`)}</span>`;
}

function Runbook({ text }) {
  if (!text) return html`<span class="muted">—</span>`;
  return html`<span class="ov-runbook" title=${text}>${text.length > 90 ? `${text.slice(0, 90)}…` : text}</span>`;
}

export function Overrides({ params }) {
  const id = params.id;
  if (id === undefined) return html`<${List} />`;
  return html`<${Detail} key=${id} id=${id} />`;
}

function Flash() {
  const [message] = useState(() => {
    const m = flash;
    flash = null;
    return m;
  });
  return message ? html`<${Notice}>${message}<//>` : null;
}

function List() {
  const list = useLoad(() => gql(LIST).then((d) => d.detectionOverrides), []);
  const dests = useDestinations();
  const columns = [
    {
      label: "Detection",
      render: (o) => html`<a href=${overridePath(o.detectionId)}><code>${o.detectionId}</code></a>
        ${o.displayName ? html`<div class="muted">${o.displayName}</div>` : null}`,
    },
    { label: "Destinations", render: (o) => html`<${Destinations} ids=${o.outputIds} destinations=${dests.data} />` },
    {
      label: "Severity",
      render: (o) => (o.severity ? html`<${SeverityBadge} severity=${o.severity} />` : html`<span class="muted">not overridden</span>`),
    },
    { label: "Dedup period", render: (o) => `${o.dedupPeriodMinutes} min` },
    { label: "Runbook", render: (o) => html`<${Runbook} text=${o.runbook} />` },
    { label: "Tags", render: (o) => html`<${Tags} tags=${o.tags} />` },
    {
      label: "Last modified",
      render: (o) => html`<${Time} value=${o.lastModifiedTime} /> <div class="muted">by ${o.lastModifiedBy}</div>`,
    },
  ];
  return html`<section>
    <${PageHeader} title="Detection overrides">
      ${can("RuleModify") ? html`<a class="button primary" href="/overrides/new">New override</a>` : null}
    <//>
    <${Flash} />
    <p class="muted">Per-detection settings, as Panther keeps them in detection metadata: where a
      detection's alerts go (before destination configuration), their severity, dedup period,
      runbook and tags.</p>
    <${ErrorBox} error=${dests.error} title="Destinations could not be loaded" />
    ${list.loading && !list.data
      ? html`<${Loading} what="Loading overrides" />`
      : list.error
        ? html`<${ErrorBox} error=${list.error} />`
        : html`<${Table} columns=${columns} rows=${list.data} rowKey=${(o) => o.detectionId}
            empty="No detection overrides: every detection routes by destination configuration." />`}
    <${RoutePanel} destinations=${dests.data} />
  </section>`;
}

function Detail({ id }) {
  const creating = id === "new";
  const found = useLoad(() => (creating ? Promise.resolve(null) : gql(ONE, { id }).then((d) => d.detectionOverride)), [id]);
  const dests = useDestinations();
  // Bumped after a save: the routing panel asks again.
  const [version, setVersion] = useState(0);
  const [notice, setNotice] = useState(null);
  const [deleteError, setDeleteError] = useState(null);
  const editable = can("RuleModify");
  const o = found.data;
  const title = creating ? "New detection override" : `Override of ${id}`;
  let body;
  if (found.loading && !found.data) body = html`<${Loading} what="Loading the override" />`;
  else if (found.error) body = html`<${ErrorBox} error=${found.error} />`;
  else if (editable)
    body = html`${!creating && !o ? html`<p class="muted">No override for <code>${id}</code> yet: its alerts route by destination configuration. Save to create one.</p>` : null}
      <${OverrideForm} key=${o ? o.lastModifiedTime : "none"} creating=${creating} id=${creating ? "" : id}
      existing=${o} destinations=${dests.data}
      onSaved=${(saved) => {
        if (creating) {
          flash = `Saved the override of ${saved.detectionId}.`;
          navigate(overridePath(saved.detectionId));
        } else {
          found.setData(saved);
          setNotice(`Saved the override of ${saved.detectionId}.`);
          setVersion((v) => v + 1);
        }
      }}
      onEdit=${() => setNotice(null)} />`;
  else if (!o) body = html`<p class="muted">${creating ? "Creating overrides needs the RuleModify permission." : html`No override for <code>${id}</code>: its alerts route by destination configuration.`}</p>`;
  else body = html`<${Facts} o=${o} destinations=${dests.data} />`;
  return html`<section>
    <p class="ov-back"><a href="/overrides">← Detection overrides</a></p>
    <${PageHeader} title=${title}>
      ${!creating && editable && o
        ? html`<${ConfirmButton} label="Delete" question=${html`Delete the override of <code>${id}</code>? Its alerts then route by destination configuration.`}
            onConfirm=${async () => {
              setDeleteError(null);
              try {
                await gql(DELETE, { id });
                flash = `Deleted the override of ${id}.`;
                navigate("/overrides");
              } catch (e) {
                setDeleteError(e);
              }
            }} />`
        : null}
    <//>
    <${Flash} />
    ${notice ? html`<${Notice}>${notice}<//>` : null}
    <${ErrorBox} error=${deleteError} title="Not deleted" />
    <${ErrorBox} error=${dests.error} title="Destinations could not be loaded" />
    <div class="ov-layout">
      <div class="panel">${body}</div>
      ${creating && !editable ? null : html`<${RoutePanel} detectionId=${creating ? "" : id} destinations=${dests.data} version=${version} auto=${!creating} />`}
    </div>
  </section>`;
}

function Facts({ o, destinations }) {
  return html`<h2 class="ov-first">Settings</h2><dl class="facts">
    <dt>Detection ID</dt><dd><code>${o.detectionId}</code></dd>
    ${o.displayName ? html`<dt>Display name</dt><dd>${o.displayName}</dd>` : null}
    <dt>Destinations</dt><dd><${Destinations} ids=${o.outputIds} destinations=${destinations} /></dd>
    <dt>Severity</dt><dd>${o.severity ? html`<${SeverityBadge} severity=${o.severity} />` : html`<span class="muted">not overridden</span>`}</dd>
    <dt>Dedup period</dt><dd>${o.dedupPeriodMinutes} min</dd>
    <dt>Runbook</dt><dd class="ov-pre">${o.runbook || html`<span class="muted">—</span>`}</dd>
    <dt>Tags</dt><dd><${Tags} tags=${o.tags} /></dd>
    <dt>Created</dt><dd><${Time} value=${o.creationTime} /> by ${o.createdBy}</dd>
    <dt>Last modified</dt><dd><${Time} value=${o.lastModifiedTime} /> by ${o.lastModifiedBy}</dd>
  </dl>`;
}

const parseList = (text) =>
  text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function OverrideForm({ creating, id, existing, destinations, onSaved, onEdit }) {
  const [form, setForm] = useState(() => ({
    detectionId: existing ? existing.detectionId : id,
    displayName: existing?.displayName || "",
    outputIds: existing ? existing.outputIds : [],
    severity: existing?.severity || "",
    dedup: existing ? String(existing.dedupPeriodMinutes) : "",
    runbook: existing?.runbook || "",
    tags: existing ? existing.tags.join("\n") : "",
  }));
  const [error, setError] = useState(null);
  const [saving, setSaving] = useState(false);
  const set = (k) => (v) => {
    onEdit();
    setForm((f) => ({ ...f, [k]: v }));
  };

  // SKIP excludes the others: ticking it clears them, ticking one of them clears it.
  const pickOutputs = (next) => {
    const had = form.outputIds.includes(SKIP);
    if (next.includes(SKIP) && !had) next = [SKIP];
    else if (had && next.length > 1) next = next.filter((x) => x !== SKIP);
    set("outputIds")(next);
  };
  const known = (destinations || []).map((d) => [d.outputId, d.displayName]);
  const missing = form.outputIds
    .filter((x) => x !== SKIP && !known.some(([v]) => v === x))
    .map((x) => [x, `${x} (no such destination)`]);
  const options = [[SKIP, "SKIP — send nowhere"], ...known, ...missing];

  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    const dedup = form.dedup.trim();
    if (dedup !== "" && !/^\d+$/.test(dedup)) {
      setError({ message: "dedupPeriodMinutes must be a whole number of minutes", field: "dedupPeriodMinutes" });
      return;
    }
    const input = {
      detectionId: form.detectionId.trim(),
      displayName: form.displayName.trim() || null,
      outputIds: form.outputIds.length ? form.outputIds : null,
      severity: form.severity || null,
      dedupPeriodMinutes: dedup === "" ? null : Number(dedup),
      runbook: form.runbook.trim() || null,
      tags: parseList(form.tags),
    };
    setSaving(true);
    try {
      const r = await gql(PUT, { input });
      setSaving(false);
      onSaved(r.putDetectionOverride);
    } catch (e) {
      setSaving(false);
      setError(e);
    }
  };
  const about = (field) => {
    if (!error) return null;
    if (error.field) return error.field === field ? error.message : null;
    return error.about ? error.about(field) : null;
  };
  const named = ["detectionId", "outputIds", "dedupPeriodMinutes", "severity", "tags", "runbook", "displayName"].some((f) => about(f));

  return html`<form onSubmit=${submit} novalidate>
    <h2 class="ov-first">${creating ? "Detection" : "Settings"}</h2>
    ${creating
      ? html`<${Field} label="Detection ID" value=${form.detectionId} onInput=${set("detectionId")} required
          error=${about("detectionId")} hint="The detection's id, as Panther's alerts carry it (e.g. AWS.Root.Login)." />`
      : html`<dl class="facts ov-id"><dt>Detection ID</dt><dd><code>${form.detectionId}</code></dd></dl>`}
    <${Field} label="Display name" value=${form.displayName} onInput=${set("displayName")} error=${about("displayName")}
      hint="Optional: the detection's name as alerts show it." />
    <${Field} type="checkboxes" label="Destinations" value=${form.outputIds} options=${options} onInput=${pickOutputs}
      error=${about("outputIds")}
      hint=${can("DestinationRead")
        ? "None ticked: destination configuration decides. Ticked ones replace it; SKIP sends this detection's alerts nowhere."
        : "Listing destinations needs the DestinationRead permission."} />
    <div class="grid2">
      <${Field} type="select" label="Severity" value=${form.severity} onInput=${set("severity")} error=${about("severity")}
        options=${[["", "not overridden"], ...SEVERITIES]} />
      <${Field} type="number" label="Dedup period (minutes)" value=${form.dedup} onInput=${set("dedup")} min="1" max="10080" step="1"
        placeholder="60" error=${about("dedupPeriodMinutes")} hint="Empty: 60 minutes." />
    </div>
    <${Field} type="textarea" label="Runbook" value=${form.runbook} onInput=${set("runbook")} error=${about("runbook")} rows="4" />
    <${Field} type="textarea" label="Tags" value=${form.tags} onInput=${set("tags")} error=${about("tags")} rows="3"
      hint="Separated by commas or one per line." />
    ${error && !named ? html`<${ErrorBox} error=${error} title="Not saved" />` : null}
    <div class="row">
      <button type="submit" class="primary" disabled=${saving}>${saving ? "Saving…" : creating ? "Create override" : "Save"}</button>
      ${creating ? html`<a class="button" href="/overrides">Cancel</a>` : null}
    </div>
  </form>`;
}

// ---------------------------------------------------------------- Where would this go?

const STEPS = [
  ["GENERATED_DESTINATIONS", "Generated destinations", "what the detection's destinations() returned"],
  ["DETECTION_OVERRIDE", "Detection override", "the destinations this page sets for the detection"],
  ["DESTINATION_CONFIGURATION", "Destination configuration", "each destination's severities, alert types and log types"],
];

const REASONS = {
  SEVERITY: "severity",
  ALERT_TYPE: "alert type",
  LOG_TYPE: "log type",
};

/** Why destination configuration left `d` out, in words (from the destination's settings). */
function reasonText(reason, d, request, decision) {
  if (!d) return `${REASONS[reason] || reason} does not match`;
  if (reason === "SEVERITY")
    return `not a default for ${decision.effectiveSeverity} (takes ${d.defaultForSeverity.join(", ") || "no severity"})`;
  if (reason === "ALERT_TYPE") return `does not take ${request.type} alerts (takes ${d.alertTypes.join(", ")})`;
  if (reason === "LOG_TYPE")
    return `RULE alerts must have log type ${d.logTypes.join(" or ")}${request.logType ? ` (not ${request.logType})` : " (none given)"}`;
  return reason;
}

function RoutePanel({ detectionId = "", destinations, version = 0, auto = false }) {
  const [form, setForm] = useState({ detectionId, severity: "MEDIUM", type: "RULE", logType: "", generated: "" });
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const allowed = can("AlertRead");
  // Asked at once for a saved override, and again after each change to it.
  useEffect(() => {
    if (allowed && auto && form.detectionId.trim()) run();
  }, [version]);
  if (!allowed)
    return html`<aside class="panel ov-route"><h2 class="ov-first">Where would this go?</h2>
      <p class="muted">The routing dry run needs the AlertRead permission.</p></aside>`;

  const run = async (f = form) => {
    setError(null);
    const generated = f.generated.trim();
    const request = {
      detectionId: f.detectionId.trim(),
      title: "Routing dry run",
      severity: f.severity,
      type: f.type,
      logType: f.logType.trim() || null,
      generatedDestinations: generated === "" ? null : parseList(generated),
    };
    setBusy(true);
    try {
      const d = await gql(ROUTE, { input: request });
      setResult({ decision: d.routeAlert, request });
    } catch (e) {
      setResult(null);
      setError(e);
    }
    setBusy(false);
  };
  return html`<aside class="panel ov-route" aria-labelledby="ov-route-title">
    <h2 class="ov-first" id="ov-route-title">Where would this go?</h2>
    <p class="muted">A dry run of routing for an alert from this detection: nothing is stored or sent.</p>
    <form onSubmit=${(e) => (e.preventDefault(), run())} novalidate>
      <${Field} label="Detection ID to route" value=${form.detectionId} onInput=${set("detectionId")} required
        error=${error?.about?.("detectionId")} />
      <div class="grid2">
        <${Field} type="select" label="Alert severity" value=${form.severity} onInput=${set("severity")} options=${SEVERITIES} />
        <${Field} type="select" label="Alert type" value=${form.type} onInput=${set("type")} options=${ALERT_TYPES} />
      </div>
      <${Field} label="Log type" value=${form.logType} onInput=${set("logType")} placeholder="e.g. AWS.CloudTrail" />
      <${Field} label="Generated destinations" value=${form.generated} onInput=${set("generated")}
        hint="Optional: names or ids the detection's destinations() returned, comma-separated. Empty: it returned none." />
      ${error && !error.about?.("detectionId") ? html`<${ErrorBox} error=${error} />` : null}
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Routing…" : "Route"}</button>
    </form>
    ${result ? html`<${Decision} ...${result} destinations=${destinations} />` : null}
  </aside>`;
}

function Decision({ decision, request, destinations }) {
  const skipped = decision.step === "SKIPPED";
  // A skip comes from the generated destinations when they were given, else the override.
  const decidedBy = skipped ? (request.generatedDestinations ? "GENERATED_DESTINATIONS" : "DETECTION_OVERRIDE") : decision.step;
  const chosen = new Set(decision.destinations.map((d) => d.outputId));
  const byId = (id) => (destinations || []).find((d) => d.outputId === id);
  // Destination configuration says why it left each one out; an earlier step leaves out
  // every destination it did not name.
  let excluded;
  if (decision.step === "DESTINATION_CONFIGURATION") {
    excluded = decision.excluded.map((x) => ({
      ...x,
      why: x.reasons.map((r) => reasonText(r, byId(x.outputId), request, decision)),
    }));
  } else {
    const because = skipped
      ? decidedBy === "GENERATED_DESTINATIONS"
        ? "the detection's destinations() said SKIP"
        : "the detection override says SKIP (send nowhere)"
      : decidedBy === "GENERATED_DESTINATIONS"
        ? "not among the detection's generated destinations (step 1 decided)"
        : "not among the detection override's destinations (step 2 decided)";
    excluded = (destinations || [])
      .filter((d) => !chosen.has(d.outputId))
      .map((d) => ({ outputId: d.outputId, displayName: d.displayName, why: [because] }));
  }
  const step = STEPS.find(([s]) => s === decidedBy);
  return html`<div class="ov-decision" role="status" aria-live="polite">
    <h3>Decision</h3>
    <p>Decided by <strong>${step ? step[1].toLowerCase() : decision.step}</strong>${skipped ? " (SKIP)" : ""}; effective severity
      <${SeverityBadge} severity=${decision.effectiveSeverity} />.</p>
    <h4>Sends to</h4>
    ${decision.destinations.length
      ? html`<ul class="ov-names">${decision.destinations.map((d) => html`<li><strong>${d.displayName}</strong></li>`)}</ul>`
      : html`<p class="ov-nowhere"><strong>Nowhere.</strong> ${skipped ? "Sending is skipped (SKIP)." : "No destination matched."}</p>`}
    ${excluded.length
      ? html`<h4>Excluded</h4><ul class="ov-excluded">${excluded.map(
          (x) => html`<li><strong>${x.displayName}</strong>: ${x.why.join("; ")}</li>`,
        )}</ul>`
      : null}
    ${decision.warnings.length
      ? html`<h4>Warnings</h4><ul>${decision.warnings.map((w) => html`<li>${w}</li>`)}</ul>`
      : null}
    <h4>Panther's precedence</h4>
    <ol class="ov-steps">
      ${STEPS.map(
        ([s, name, what]) => html`<li class=${s === decidedBy ? "ov-applied" : ""} aria-current=${s === decidedBy ? "step" : undefined}>
          <strong>${name}</strong>${s === decidedBy ? html` <span class="badge ov-here">${skipped ? "decided: skip" : "decided"}</span>` : null}
          <span class="muted"> — ${what}</span></li>`,
      )}
    </ol>
  </div>`;
}
