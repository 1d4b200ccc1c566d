// Shared pieces of every page: data loading, errors, form fields, tables, badges,
// times, confirmation. Pages import from here and from ./api.js only.
import { html, useCallback, useEffect, useRef, useState } from "../vendor/preact-htm.js";
export { html, useCallback, useEffect, useRef, useState };
export { useMemo } from "../vendor/preact-htm.js";

export const SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
export const ALERT_TYPES = [
  "RULE",
  "RULE_ERROR",
  "SCHEDULED_RULE",
  "SCHEDULED_RULE_ERROR",
  "POLICY",
  "CORRELATION_RULE",
  "CORRELATION_RULE_ERROR",
  "SYSTEM_ERROR",
];
export const STATUSES = ["OPEN", "TRIAGED", "RESOLVED", "CLOSED"];

/**
 * Loads `load()` (a promise) when `deps` change: {data, error, loading, reload, setData}.
 * A load that finishes after a newer one started is dropped.
 */
export function useLoad(load, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const seq = useRef(0);
  const run = useCallback(() => {
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    Promise.resolve()
      .then(load)
      .then(
        (data) => n === seq.current && setState({ data, error: null, loading: false }),
        (error) => n === seq.current && setState({ data: null, error, loading: false }),
      );
  }, deps);
  useEffect(run, [run]);
  return {
    ...state,
    reload: run,
    setData: (f) => setState((s) => ({ ...s, data: typeof f === "function" ? f(s.data) : f })),
  };
}

export function Loading({ what = "Loading" }) {
  return html`<p class="muted" role="status" aria-live="polite">${what}…</p>`;
}

/** An error from the API, with its code (never a raw stack). */
export function ErrorBox({ error, title }) {
  if (!error) return null;
  const code = error.code && error.code !== "ERROR" ? error.code : null;
  return html`<div class="error" role="alert">
    ${title ? html`<strong>${title}: </strong>` : null}${error.message || String(error)}
    ${code ? html` <code class="code">${code}</code>` : null}
  </div>`;
}

export function Notice({ children, kind = "ok" }) {
  return html`<div class=${`notice ${kind}`} role="status" aria-live="polite">${children}</div>`;
}

let fieldSeq = 0;
/**
 * A labelled input. `type`: text, password, number, url, textarea, select, checkbox,
 * datetime-local, checkboxes (several of `options`). `error`: inline message.
 */
export function Field(props) {
  const { label, name, type = "text", value, onInput, error, hint, options = [], required, disabled } = props;
  const id = useRef(`f${++fieldSeq}`).current;
  const described = [error ? `${id}-err` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name,
    required,
    disabled,
    "aria-invalid": error ? "true" : undefined,
    "aria-describedby": described,
    placeholder: props.placeholder,
    autocomplete: props.autocomplete,
  };
  let control;
  if (type === "checkboxes") {
    const set = new Set(value || []);
    control = html`<fieldset class="checks" aria-describedby=${described} disabled=${disabled}>
      <legend>${label}${required ? " *" : ""}</legend>
      ${options.map((o) => {
        const [v, text] = Array.isArray(o) ? o : [o, o];
        return html`<label class="check"><input type="checkbox" name=${name} value=${v} checked=${set.has(v)}
          onChange=${(e) => {
            const next = new Set(set);
            e.target.checked ? next.add(v) : next.delete(v);
            onInput(options.map((x) => (Array.isArray(x) ? x[0] : x)).filter((x) => next.has(x)));
          }} /> ${text}</label>`;
      })}
    </fieldset>`;
    return html`<div class="field">${control}${hint ? html`<small id=${`${id}-hint`} class="muted">${hint}</small>` : null}
      ${error ? html`<small id=${`${id}-err`} class="field-error">${error}</small>` : null}</div>`;
  }
  if (type === "checkbox") {
    return html`<div class="field"><label class="check" for=${id}>
      <input type="checkbox" ...${common} checked=${!!value} onChange=${(e) => onInput(e.target.checked)} /> ${label}</label>
      ${hint ? html`<small id=${`${id}-hint`} class="muted">${hint}</small>` : null}
      ${error ? html`<small id=${`${id}-err`} class="field-error">${error}</small>` : null}</div>`;
  }
  if (type === "textarea") {
    control = html`<textarea ...${common} rows=${props.rows || 4} value=${value ?? ""} onInput=${(e) => onInput(e.target.value)} />`;
  } else if (type === "select") {
    control = html`<select ...${common} value=${value ?? ""} onChange=${(e) => onInput(e.target.value)}>
      ${options.map((o) => {
        const [v, text] = Array.isArray(o) ? o : [o, o];
        return html`<option value=${v} selected=${v === (value ?? "")}>${text}</option>`;
      })}
    </select>`;
  } else {
    control = html`<input type=${type} ...${common} value=${value ?? ""} min=${props.min} max=${props.max} step=${props.step}
      onInput=${(e) => onInput(e.target.value)} />`;
  }
  return html`<div class="field">
    <label for=${id}>${label}${required ? " *" : ""}</label>
    ${control}
    ${hint ? html`<small id=${`${id}-hint`} class="muted">${hint}</small>` : null}
    ${error ? html`<small id=${`${id}-err`} class="field-error">${error}</small>` : null}
  </div>`;
}

/** columns: [{label, render(row) | key}]; rows: array; `rowKey(row)`. */
export function Table({ columns, rows, empty = "Nothing here yet.", rowKey = (r) => r.id, caption }) {
  if (!rows || rows.length === 0) return html`<p class="muted empty">${empty}</p>`;
  return html`<div class="table-wrap"><table>
    ${caption ? html`<caption>${caption}</caption>` : null}
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (r) => html`<tr key=${rowKey(r)}>${columns.map(
        (c) => html`<td data-label=${c.label}>${c.render ? c.render(r) : r[c.key] ?? ""}</td>`,
      )}</tr>`,
    )}</tbody>
  </table></div>`;
}

export function SeverityBadge({ severity }) {
  return severity ? html`<span class=${`badge sev-${severity.toLowerCase()}`}>${severity}</span>` : null;
}

export function StatusBadge({ status }) {
  return status ? html`<span class=${`badge st-${String(status).toLowerCase()}`}>${status}</span>` : null;
}

/** A time: relative ("3 min ago"), with the exact UTC time as a tooltip. */
export function Time({ value }) {
  if (!value) return html`<span class="muted">—</span>`;
  const d = new Date(value);
  const s = (Date.now() - d.getTime()) / 1000;
  const abs = Math.abs(s);
  const unit = abs < 60 ? [Math.round(s), "s"] : abs < 3600 ? [Math.round(s / 60), "min"] : abs < 86400 ? [Math.round(s / 3600), "h"] : [Math.round(s / 86400), "d"];
  const text = s >= 0 ? `${unit[0]} ${unit[1]} ago` : `in ${-unit[0]} ${unit[1]}`;
  return html`<time datetime=${value} title=${d.toISOString()}>${text}</time>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}

/**
 * A button that asks first (a native <dialog>, keyboard-usable). `name`: the accessible
 * name when a row's button needs one of its own ("Revoke ci" for a button showing "Revoke").
 */
export function ConfirmButton({ label, name, question, confirm = label, onConfirm, danger = true, disabled }) {
  const ref = useRef(null);
  return html`<span>
    <button type="button" class=${danger ? "danger" : ""} aria-label=${name} disabled=${disabled}
      onClick=${() => ref.current.showModal()}>${label}</button>
    <dialog ref=${ref} aria-label=${name || label}>
      <form method="dialog">
        <div class="dialog-body">${question}</div>
        <menu>
          <button value="cancel" autofocus>Cancel</button>
          <button value="ok" class=${danger ? "danger" : "primary"} onClick=${(e) => {
            e.preventDefault();
            ref.current.close();
            onConfirm();
          }}>${confirm}</button>
        </menu>
      </form>
    </dialog>
  </span>`;
}

export function PageHeader({ title, children }) {
  useEffect(() => {
    document.title = `${title} · Herald`;
  }, [title]);
  return html`<header class="page-header"><h1>${title}</h1><div class="actions">${children}</div></header>`;
}

/**
 * A form's submission: `submit(e)` runs `run()` once at a time (`busy`), keeping its
 * ApiError in `error` and `about(field)` for the field-level message.
 */
export function useSubmit(run) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    if (e) e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await run();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return { submit, error, busy, about: (field) => (error && error.about ? error.about(field) : null) };
}
