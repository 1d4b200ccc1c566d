// The destination form: /destinations/new (a type picker, then the type's config) and
// /destinations/<outputId> (the same form prefilled; secrets left empty keep their stored
// value). The config fields come from the schema: the type's input object read by
// introspection (descriptions as hints, NON_NULL required, enums as selects, lists of
// strings one per line, booleans as checkboxes, nested input objects as fieldsets), and
// which of them are secrets from `destinationTypes`. Beside the form: the payload
// preview, test sends, health and replaying failed deliveries.
import { can, gql, subscribe } from "../lib/api.js";
import { navigate } from "../lib/router.js";
import {
  ConfirmButton,
  ErrorBox,
  Field,
  html,
  Json,
  Loading,
  Notice,
  PageHeader,
  Time,
  useEffect,
  useLoad,
  useState,
} from "../lib/ui.js";
import {
  deleteDestination,
  deleteQuestion,
  HEALTH,
  HealthBadge,
  labelOf,
  loadOverrides,
  loadTypes,
  ROW,
  setFlash,
  shapeOf,
  TestResults,
  TypeIcon,
  useTestSend,
} from "./destination-common.js";

const MASK = "********";
// DestinationInput's own fields that the form does not show as fields.
const NOT_COMMON = new Set(["outputConfig", "outputId"]);

/** The member each list's elements are matched by: `headers[key].value` → {headers: "key"}. */
function listKeys(paths) {
  return Object.fromEntries(paths.map((p) => p.match(/^(\w+)\[(\w+)\]/)).filter(Boolean).map((m) => [m[1], m[2]]));
}

/** `headers[key].value` → `headers[].value` (secret paths as the form walks them). */
function normalise(paths) {
  return new Set(paths.map((p) => p.replace(/\[[^\]]*\]/g, "[]")));
}

/** A form's values for `shape` from a stored (or empty) object; masked secrets become "" and are listed in `kept`. */
function valuesFrom(shape, obj, kept, path = "") {
  const v = {};
  for (const f of shape.fields) {
    const x = obj ? obj[f.name] : undefined;
    const here = path ? `${path}.${f.name}` : f.name;
    switch (f.kind) {
      case "object":
        v[f.name] = valuesFrom(f.shape, x, kept, here);
        break;
      case "objects":
        v[f.name] = (x || []).map((item, i) => valuesFrom(f.shape, item, kept, `${here}.${i}`));
        break;
      case "strings":
        v[f.name] = (x || []).join("\n");
        break;
      case "enums":
        v[f.name] = x ? [...x] : f.required ? [] : [...f.options];
        break;
      case "boolean":
        v[f.name] = !!x;
        break;
      case "json":
        v[f.name] = x == null ? "" : typeof x === "string" ? x : JSON.stringify(x, null, 2);
        break;
      default:
        if (x === MASK) {
          kept.add(here);
          v[f.name] = "";
        } else v[f.name] = x == null ? "" : String(x);
    }
  }
  return v;
}

/** The API input for `shape` from the form's values (empty optional fields left out). */
function toInput(shape, v) {
  const out = {};
  for (const f of shape.fields) {
    const x = v[f.name];
    let y;
    switch (f.kind) {
      case "object":
        y = toInput(f.shape, x);
        break;
      case "objects":
        y = x.map((item) => toInput(f.shape, item));
        if (!y.length && !f.required) y = undefined;
        break;
      case "strings":
        y = x.split("\n").map((s) => s.trim()).filter(Boolean);
        if (!y.length && !f.required) y = undefined;
        break;
      case "enums":
        // An optional list with every value ticked means "every" (future values too).
        y = !f.required && x.length === f.options.length ? undefined : x;
        break;
      case "boolean":
        y = x;
        break;
      case "int":
      case "float":
        y = x === "" ? undefined : Number(x);
        break;
      default:
        y = x === "" && !f.required ? undefined : x;
    }
    if (y !== undefined) out[f.name] = y;
  }
  return out;
}

/** `{[selection]}` of a config output object with the same fields as its input. */
function selection(shape) {
  return shape.fields.map((f) => (f.shape ? `${f.name} { ${selection(f.shape)} }` : f.name)).join(" ");
}

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/**
 * The server's message about a field: `outputConfig.<type>.<name>…: …`, `<name> must …`,
 * `changing <name> requires re-entering the secrets: <name>, …`. `name` is a path in
 * the config (`headers[X-Team].value`) or a field of DestinationInput.
 */
function errorAt(err, name, config) {
  if (!err) return null;
  const before = config ? "(^|outputConfig\\.\\w+\\.|changing )" : "(^|input\\.)";
  const re = new RegExp(`${before}${esc(name)}([\\[.:\\s]|$)`);
  const all = err.errors && err.errors.length ? err.errors : [{ message: err.message }];
  const secrets = (m) => (m.match(/re-entering the secrets: (.*)$/)?.[1] || "").split(/,\s*/);
  const e =
    all.find((e) => e.extensions?.field === name) ||
    all.find((e) => re.test(e.message)) ||
    (config ? all.find((e) => secrets(e.message).includes(name)) : null);
  return e ? e.message : null;
}

/** A description with its `code` spans. */
function richText(text) {
  if (!text) return null;
  return text.split("`").map((part, i) => (i % 2 ? html`<code>${part}</code>` : part));
}

function singular(label) {
  return label.endsWith("s") ? label.slice(0, -1).toLowerCase() : label.toLowerCase();
}

/** The fields of one input object (the config, or a nested one). */
function Fields({ shape, values, onChange, ctx, path = "", secretPath = "" }) {
  // Updates are functions of the current values, so an answer that arrives later (a
  // generated secret) or two quick events never work on a stale copy.
  const apply = (f, x) => (typeof f === "function" ? f(x) : f);
  const set = (name, value) => onChange((cur) => ({ ...cur, [name]: apply(value, cur[name]) }));
  return shape.fields.map((f) => {
    const here = path ? `${path}.${f.name}` : f.name;
    const sp = secretPath ? `${secretPath}.${f.name}` : f.name;
    const label = labelOf(f.name);
    const secret = ctx.secrets.has(sp);
    const kept = ctx.kept.has(here);
    const hints = [f.description.replace(/\s*Secret: shown redacted\.\s*/, " ").trim()];
    if (secret && !kept) hints.push("Secret: stored encrypted and never shown again.");
    if (f.kind === "strings") hints.push("One per line.");
    if (kept) hints.push("Stored; leave empty to keep it, or type a new value.");
    if (ctx.editing && ctx.targets.has(sp)) hints.push("Changing it requires entering every secret again.");
    const hint = richText(hints.filter(Boolean).join(" "));
    const raw = errorAt(ctx.error, `${ctx.itemPrefix || ""}${f.name}`, ctx.config);
    // "outputConfig.slack.webhookURL: must be …" reads "Webhook URL must be …" at the field.
    const own = raw && raw.match(/^(?:outputConfig\.\w+\.)?([\w.\[\]-]+):\s+(.*)$/s);
    const error = own && own[1] === `${ctx.itemPrefix || ""}${f.name}` ? `${label} ${own[2]}` : raw;
    const common = { label, hint, error, required: f.required && !kept, name: here };
    switch (f.kind) {
      case "object":
        return html`<fieldset class="nested" key=${f.name}><legend>${label}${f.required ? " *" : ""}</legend>
          ${f.description ? html`<small class="muted">${richText(f.description)}</small>` : null}
          <${Fields} shape=${f.shape} values=${values[f.name]} onChange=${(v) => set(f.name, v)} ctx=${ctx} path=${here} secretPath=${sp} />
          ${error ? html`<small class="field-error">${error}</small>` : null}</fieldset>`;
      case "objects":
        return html`<fieldset class="nested" key=${f.name}><legend>${label}${f.required ? " *" : ""}</legend>
          ${f.description ? html`<small class="muted">${richText(f.description)}</small>` : null}
          ${values[f.name].map(
            (item, i) => html`<div class="nested-item" key=${i}>
              <${Fields} shape=${f.shape} values=${item} path=${`${here}.${i}`} secretPath=${`${sp}[]`}
                ctx=${{ ...ctx, itemPrefix: ctx.listKeys[f.name] ? `${f.name}[${item[ctx.listKeys[f.name]]}].` : `${f.name}[${i}].` }}
                onChange=${(v) => set(f.name, (list) => list.map((x, j) => (j === i ? apply(v, x) : x)))} />
              ${ctx.readOnly
                ? null
                : html`<button type="button" onClick=${() => set(f.name, (list) => list.filter((_, j) => j !== i))}>Remove ${singular(label)}</button>`}
            </div>`,
          )}
          ${!values[f.name].length ? html`<p class="muted">None.</p>` : null}
          ${ctx.readOnly
            ? null
            : html`<button type="button" onClick=${() => set(f.name, (list) => [...list, valuesFrom(f.shape, null, new Set())])}>Add ${singular(label)}</button>`}
          ${error ? html`<small class="field-error">${error}</small>` : null}</fieldset>`;
      case "enums":
        return html`<${Field} key=${f.name} ...${common} type="checkboxes" options=${f.options} value=${values[f.name]} onInput=${(v) => set(f.name, v)} />`;
      case "enum":
        return html`<${Field} key=${f.name} ...${common} type="select"
          options=${[...(f.required ? [] : [["", "— default —"]]), ...f.options]} value=${values[f.name]} onInput=${(v) => set(f.name, v)} />`;
      case "boolean":
        return html`<${Field} key=${f.name} ...${common} type="checkbox" value=${values[f.name]} onInput=${(v) => set(f.name, v)} />`;
      case "int":
      case "float":
        return html`<${Field} key=${f.name} ...${common} type="number" step=${f.kind === "int" ? "1" : "any"} value=${values[f.name]}
          onInput=${(v) => set(f.name, v)} />`;
      case "strings":
      case "json":
        return html`<${Field} key=${f.name} ...${common} type="textarea" rows=${3} value=${values[f.name]} onInput=${(v) => set(f.name, v)} />`;
      default: {
        const type = secret ? "password" : /Template$/.test(f.name) ? "textarea" : "text";
        const field = html`<${Field} key=${f.name} ...${common} type=${type} value=${values[f.name]} onInput=${(v) => set(f.name, v)}
          placeholder=${kept ? "unchanged" : undefined} autocomplete=${secret ? "new-password" : "off"} />`;
        if (f.name !== "signingSecret" || ctx.readOnly) return field;
        return html`<div key=${f.name}>${field}<${GenerateSecret} onSecret=${(v) => set(f.name, v)} /></div>`;
      }
    }
  });
}

/** Fills a Standard Webhooks signing secret from `generateSigningSecret`, shown once to copy. */
function GenerateSecret({ onSecret }) {
  const [state, setState] = useState({ value: null, error: null });
  const generate = async () => {
    try {
      const d = await gql("query GenerateSigningSecret { generateSigningSecret }");
      setState({ value: d.generateSigningSecret, error: null });
      onSecret(d.generateSigningSecret);
    } catch (error) {
      setState({ value: null, error });
    }
  };
  return html`<div class="generate-secret">
    <button type="button" onClick=${generate}>Generate a signing secret</button>
    ${state.value
      ? html`<small class="muted" role="status">Give the receiver this secret (it is saved with the destination and not shown again):
          <code class="secret-value">${state.value}</code></small>`
      : null}
    <${ErrorBox} error=${state.error} title="No secret" />
  </div>`;
}

function TypePicker({ types, value, onPick }) {
  return html`<fieldset class="type-picker">
    <legend>Destination type *</legend>
    <div class="type-grid">${types.map(
      (t) => html`<label class=${`type-option${value === t.field ? " picked" : ""}`} key=${t.field}>
        <input type="radio" name="destination-type" value=${t.field} checked=${value === t.field} onChange=${() => onPick(t.field)} />
        <${TypeIcon} outputType=${t.outputType} label=${t.label} /><span>${t.label}</span></label>`,
    )}</div>
  </fieldset>`;
}

/** Loads what the form needs: the types, DestinationInput's shape, and the stored destination. */
async function loadEditor(id) {
  const adding = id === "new";
  const [types, common] = await Promise.all([loadTypes(), shapeOf("DestinationInput")]);
  if (adding) return { types, common, dest: null };
  const d = await gql(
    `query Destination($id: ID!) { destination(id: $id) { ${ROW} maxRequestsPerSecond maxConcurrency lastModifiedBy lastModifiedTime } }`,
    { id },
  );
  const dest = d.destination;
  if (!dest) return { types, common, dest: null, missing: true };
  const kind = types.find((t) => t.outputType === dest.outputType);
  if (!kind) return { types, common, dest, kind: null };
  const shape = await shapeOf(kind.inputType);
  const c = await gql(`query DestinationConfig($id: ID!) { destination(id: $id) { outputConfig { ${kind.field} { ${selection(shape)} } } } }`, {
    id,
  });
  return { types, common, dest, kind, shape, config: c.destination?.outputConfig?.[kind.field] || {} };
}

export function DestinationEditor({ id }) {
  const { data, error, loading } = useLoad(() => loadEditor(id), [id]);
  if (error) return html`<${PageHeader} title="Destination" /><${ErrorBox} error=${error} title="The form could not be loaded" />`;
  if (loading || !data) return html`<${Loading} what="Loading the destination" />`;
  if (data.missing)
    return html`<${PageHeader} title="Destination not found" /><p>No destination has the id <code>${id}</code>. <a href="/destinations">All destinations</a>.</p>`;
  if (data.dest && !data.kind)
    return html`<${PageHeader} title=${data.dest.displayName} /><${ErrorBox} error=${{ message: `Unknown destination type ${data.dest.outputType}` }} />`;
  return html`<${Editor} ...${data} />`;
}

function Editor({ types, common, dest: stored, kind: storedKind, shape: storedShape, config }) {
  const adding = !stored;
  const modify = can("DestinationModify");
  const commonShape = { ...common, fields: common.fields.filter((f) => !NOT_COMMON.has(f.name)) };
  const [dest, setDest] = useState(stored);
  const [kind, setKind] = useState(storedKind || null);
  const [shape, setShape] = useState(storedShape || null);
  const [kept, setKept] = useState(() => new Set());
  const [values, setValues] = useState(() => (storedShape ? valuesFrom(storedShape, config, kept) : null));
  const [main, setMain] = useState(() => valuesFrom(commonShape, stored));
  const [shapeError, setShapeError] = useState(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState(null);
  const [saved, setSaved] = useState(null);

  const pick = async (field) => {
    const k = types.find((t) => t.field === field);
    setKind(k);
    setShape(null);
    setSaveError(null);
    setShapeError(null);
    try {
      const s = await shapeOf(k.inputType);
      setShape(s);
      setValues(valuesFrom(s, null, new Set()));
    } catch (e) {
      setShapeError(e);
    }
  };

  const input = () => {
    const i = { ...toInput(commonShape, main), outputConfig: { [kind.field]: toInput(shape, values) } };
    if (!adding) i.outputId = dest.outputId;
    return i;
  };

  const submit = async (e) => {
    e.preventDefault();
    if (!kind || !shape) return;
    setSaving(true);
    setSaveError(null);
    setSaved(null);
    try {
      if (adding) {
        const d = await gql("mutation AddDestination($input: DestinationInput!) { addDestination(input: $input) { outputId displayName } }", {
          input: input(),
        });
        setFlash(`Added “${d.addDestination.displayName}”.`);
        navigate("/destinations");
        return;
      }
      const d = await gql(
        `mutation UpdateDestination($input: DestinationInput!) { updateDestination(input: $input) {
          ${ROW} maxRequestsPerSecond maxConcurrency lastModifiedBy lastModifiedTime outputConfig { ${kind.field} { ${selection(shape)} } } } }`,
        { input: input() },
      );
      const u = d.updateDestination;
      const k = new Set();
      setValues(valuesFrom(shape, u.outputConfig[kind.field], k));
      setKept(k);
      setMain(valuesFrom(commonShape, u));
      setDest(u);
      setSaved(`Saved “${u.displayName}”.`);
    } catch (err) {
      setSaveError(err);
      // The message at the top in view, the keyboard at the first field it is about.
      setTimeout(() => {
        document.querySelector(".destination-form .error")?.scrollIntoView({ block: "center" });
        document.querySelector(".destination-form [aria-invalid=true]")?.focus({ preventScroll: true });
      });
    } finally {
      setSaving(false);
    }
  };

  const title = adding ? "Add a destination" : dest.displayName;
  const ctxBase = {
    listKeys: listKeys([...(kind?.secretFields || []), ...(kind?.targetFields || [])]),
    secrets: normalise(kind?.secretFields || []), targets: normalise(kind?.targetFields || []), editing: !adding, error: saveError, readOnly: !modify };

  return html`<${PageHeader} title=${title}>
      <a class="button" href="/destinations">All destinations</a>
      ${!adding && modify ? html`<${DeleteButton} dest=${dest} />` : null}
    </${PageHeader}>
    ${saved ? html`<${Notice}>${saved}</${Notice}>` : null}
    <div class="editor-grid">
      <form class="panel destination-form" onSubmit=${submit} aria-label=${title}>
        <fieldset class="plain" disabled=${!modify || saving}>
          ${!modify ? html`<p class="muted">You may read this destination but not change it.</p>` : null}
          <${ErrorBox} error=${saveError} title=${adding ? "Not added" : "Not saved"} />
          ${adding
            ? html`<${TypePicker} types=${types} value=${kind?.field} onPick=${pick} />`
            : html`<p class="dtype-fixed"><${TypeIcon} outputType=${kind.outputType} label=${kind.label} /> <strong>${kind.label}</strong>
                <span class="muted mono">${dest.outputId}</span></p>`}
          <${ErrorBox} error=${shapeError} title="This type's fields could not be read" />
          ${kind && !shape && !shapeError ? html`<${Loading} what="Reading the type's fields" />` : null}
          ${kind && shape
            ? html`<h2>${kind.label} settings</h2>
                ${shape.description ? html`<p class="muted">${richText(shape.description)}</p>` : null}
                <${Fields} shape=${shape} values=${values} onChange=${setValues} ctx=${{ ...ctxBase, kept, config: true }} />
                <h2>Routing</h2>
                <${Fields} shape=${commonShape} values=${main} onChange=${setMain} ctx=${{ ...ctxBase, kept: new Set(), config: false }} />
                ${modify
                  ? html`<div class="row form-actions">
                      <button type="submit" class="primary" disabled=${saving}>${adding ? "Add destination" : "Save changes"}</button>
                      ${saving ? html`<span class="muted" role="status">Saving…</span>` : null}
                    </div>`
                  : null}`
            : null}
        </fieldset>
      </form>
      <aside class="editor-side">
        ${kind && shape ? html`<${Preview} kind=${kind} input=${() => toInput(shape, values)} outputId=${dest?.outputId} />` : null}
        ${dest ? html`<${HealthPanel} dest=${dest} modify=${modify} />` : null}
      </aside>
    </div>`;
}

function DeleteButton({ dest }) {
  const [overrides, setOverrides] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    loadOverrides().then(setOverrides, () => setOverrides(null));
  }, []);
  return html`<${ConfirmButton} label="Delete" confirm="Delete destination" disabled=${overrides === undefined}
      question=${deleteQuestion(dest, overrides ?? null)}
      onConfirm=${async () => {
        setError(null);
        try {
          await deleteDestination(dest.outputId);
          setFlash(`Deleted “${dest.displayName}”.`);
          navigate("/destinations");
        } catch (e) {
          setError(e);
        }
      }} />
    ${error ? html`<${ErrorBox} error=${error} title="Not deleted" />` : null}`;
}

function Preview({ kind, input, outputId }) {
  const [state, setState] = useState({ busy: false, data: null, error: null });
  const run = async () => {
    setState({ busy: true, data: null, error: null });
    try {
      const d = await gql(
        "query PreviewPayload($input: PreviewPayloadInput!) { previewPayload(input: $input) { method url headers { key value } body } }",
        { input: { outputConfig: { [kind.field]: input() }, ...(outputId ? { outputId } : {}) } },
      );
      setState({ busy: false, data: d.previewPayload, error: null });
    } catch (error) {
      setState({ busy: false, data: null, error });
    }
  };
  let body = null;
  if (state.data) {
    try {
      body = html`<${Json} value=${JSON.parse(state.data.body)} />`;
    } catch {
      body = html`<pre class="json">${state.data.body}</pre>`;
    }
  }
  return html`<section class="panel preview" aria-labelledby="preview-title">
    <div class="row spread"><h2 id="preview-title">Payload preview</h2>
      <button type="button" onClick=${run} disabled=${state.busy}>Preview payload</button></div>
    <p class="muted">The request this form's configuration would send for the test alert (secrets masked). Nothing is sent.</p>
    <${ErrorBox} error=${state.error} title="No preview" />
    ${state.busy ? html`<${Loading} what="Rendering" />` : null}
    ${state.data
      ? html`<dl class="facts"><dt>Request</dt><dd class="mono">${state.data.method} ${state.data.url}</dd>
          ${state.data.headers.map((h) => html`<dt class="mono">${h.key}</dt><dd class="mono">${h.value}</dd>`)}</dl>
          <h3>Body</h3>${body}`
      : null}
  </section>`;
}

function HealthPanel({ dest, modify }) {
  const [test, send] = useTestSend(dest.outputId);
  const { data: live, reload } = useLoad(
    () => gql(`query Health($id: ID!) { destination(id: $id) { ${HEALTH} } }`, { id: dest.outputId }).then((d) => d.destination?.health),
    [dest.outputId],
  );
  useEffect(() => {
    if (!test.busy && test.results) reload();
  }, [test.busy, test.results]);
  // Live: the health follows this destination's deliveries (at most once a second).
  useEffect(() => {
    let timer = null;
    const stop = subscribe(
      "subscription DestinationHealth { deliveryUpdated { outputId } }",
      {},
      (data) => {
        if (data && data.deliveryUpdated.outputId !== dest.outputId) return;
        if (!timer) timer = setTimeout(() => ((timer = null), reload()), 800);
      },
      () => {},
    );
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [dest.outputId]);
  const h = live || dest.health;
  return html`<section class="panel" aria-labelledby="health-title">
      <div class="row spread"><h2 id="health-title">Health</h2><${HealthBadge} health=${h} /></div>
      <dl class="facts">
        <dt>Last success</dt><dd><${Time} value=${h.lastSuccessAt} /></dd>
        <dt>Last attempt</dt><dd><${Time} value=${h.lastAttemptAt} /></dd>
        <dt>Last error</dt><dd>${h.lastError || html`<span class="muted">—</span>`}</dd>
        <dt>Pending</dt><dd>${h.pendingCount}</dd>
        <dt>Failures in a row</dt><dd>${h.consecutiveFailures}</dd>
        ${h.pausedAt ? html`<dt>Paused since</dt><dd><${Time} value=${h.pausedAt} /></dd><dt>Next probe</dt><dd><${Time} value=${h.nextProbeAt} /></dd>` : null}
      </dl>
      ${dest.warnings.map((w) => html`<div class="notice warn">${w}</div>`)}
    </section>
    ${modify
      ? html`<section class="panel" aria-labelledby="test-title">
            <h2 id="test-title">Test alert</h2>
            <p class="muted">Sends Herald's test alert with the saved configuration and shows the answer.</p>
            <button type="button" onClick=${send} disabled=${test.busy}>Send test alert</button>
            <${TestResults} state=${test} />
          </section>
          <${Replay} dest=${dest} onDone=${reload} />`
      : null}`;
}

function Replay({ dest, onDone }) {
  const [since, setSince] = useState("");
  const [state, setState] = useState({ busy: false, count: null, error: null });
  const run = async (e) => {
    e.preventDefault();
    setState({ busy: true, count: null, error: null });
    try {
      const input = { outputId: dest.outputId };
      if (since) input.since = new Date(since).toISOString();
      const d = await gql("mutation Replay($input: RetryFailedDeliveriesInput!) { retryFailedDeliveries(input: $input) }", { input });
      setState({ busy: false, count: d.retryFailedDeliveries, error: null });
      onDone();
    } catch (error) {
      setState({ busy: false, count: null, error });
    }
  };
  return html`<form class="panel" onSubmit=${run} aria-labelledby="replay-title">
    <h2 id="replay-title">Replay failed deliveries</h2>
    <${Field} label="Failed since" type="datetime-local" value=${since} onInput=${setSince}
      hint="Your local time; empty replays every failed delivery." error=${state.error ? errorAt(state.error, "since", false) : null} />
    <button type="submit" disabled=${state.busy}>Replay failed deliveries</button>
    <${ErrorBox} error=${state.error} title="Not replayed" />
    ${state.count !== null
      ? html`<${Notice}>${state.count === 0 ? "No failed deliveries to replay." : `${state.count} failed ${state.count === 1 ? "delivery" : "deliveries"} re-queued.`}</${Notice}>`
      : null}
  </form>`;
}
