// Destinations: the list (type, name, routing, live health, test sends) at /destinations;
// /destinations/new and /destinations/<outputId> are the form (destination-editor.js).
import { can, gql, subscribe } from "../lib/api.js";
import {
  ConfirmButton,
  ErrorBox,
  html,
  Loading,
  Notice,
  PageHeader,
  SeverityBadge,
  Table,
  Time,
  useEffect,
  useLoad,
  useRef,
  useState,
} from "../lib/ui.js";
import {
  deleteDestination,
  deleteQuestion,
  HealthBadge,
  HealthNote,
  loadOverrides,
  loadTypes,
  ROW,
  takeFlash,
  TestResults,
  TypeIcon,
  useTestSend,
} from "./destination-common.js";
import { DestinationEditor } from "./destination-editor.js";

export function Destinations({ params }) {
  if (params.id) return html`<${DestinationEditor} key=${params.id} id=${params.id} />`;
  return html`<${DestinationList} />`;
}

const ALL_ALERT_TYPES = 8;

/** Refetches the rows of destinations whose deliveries changed, at most once a second. */
function useLiveRows(setData, reload) {
  const pending = useRef(new Set());
  const timer = useRef(null);
  useEffect(() => {
    const flush = async () => {
      timer.current = null;
      const ids = [...pending.current];
      pending.current.clear();
      if (!ids.length) return;
      const vars = Object.fromEntries(ids.map((id, i) => [`id${i}`, id]));
      const doc = `query Rows(${ids.map((_, i) => `$id${i}: ID!`).join(", ")}) {
        ${ids.map((_, i) => `d${i}: destination(id: $id${i}) { ${ROW} }`).join("\n")} }`;
      try {
        const d = await gql(doc, vars);
        setData((data) => {
          if (!data) return data;
          let list = data.list;
          ids.forEach((id, i) => {
            const row = d[`d${i}`];
            list = row ? list.map((r) => (r.outputId === id ? row : r)) : list.filter((r) => r.outputId !== id);
          });
          return { ...data, list };
        });
      } catch {
        // The next event (or a reload) brings the rows up to date.
      }
    };
    const stop = subscribe(
      "subscription DestinationDeliveries { deliveryUpdated { outputId } }",
      {},
      (data) => {
        if (!data) {
          reload();
          return;
        }
        pending.current.add(data.deliveryUpdated.outputId);
        if (!timer.current) timer.current = setTimeout(flush, 800);
      },
      () => {},
    );
    return () => {
      stop();
      clearTimeout(timer.current);
    };
  }, []);
}

function DestinationList() {
  const [flash] = useState(takeFlash);
  const modify = can("DestinationModify");
  const { data, error, loading, reload, setData } = useLoad(async () => {
    const [d, types, overrides] = await Promise.all([
      gql(`query Destinations { destinations { ${ROW} } }`),
      loadTypes(),
      modify ? loadOverrides().catch(() => null) : null,
    ]);
    return { list: d.destinations, types, overrides };
  });
  useLiveRows(setData, reload);
  const [deleted, setDeleted] = useState(null);
  const [deleteError, setDeleteError] = useState(null);

  const labelOf = (t) => data.types.find((x) => x.outputType === t)?.label || t;
  const columns = [
    {
      label: "Destination",
      render: (r) => html`<div class="dname">
        <${TypeIcon} outputType=${r.outputType} label=${labelOf(r.outputType)} />
        <div><a href=${`/destinations/${encodeURIComponent(r.outputId)}`}>${r.displayName}</a>
          <small class="muted dtype-label">${labelOf(r.outputType)}</small>
          ${r.warnings.map((w) => html`<small class="dwarning" title=${w}>⚠ ${w.split(":")[0]}</small>`)}</div>
      </div>`,
    },
    {
      label: "Severities",
      render: (r) =>
        r.defaultForSeverity.length
          ? html`<span class="badges">${r.defaultForSeverity.map((s) => html`<${SeverityBadge} severity=${s} />`)}</span>`
          : html`<span class="muted">none</span>`,
    },
    {
      label: "Alert types",
      render: (r) =>
        r.alertTypes.length >= ALL_ALERT_TYPES
          ? html`<span class="muted">all</span>`
          : html`<span class="atypes">${r.alertTypes.map((t) => t.toLowerCase().replace(/_/g, " ")).join(", ")}</span>`,
    },
    {
      label: "Health",
      render: (r) => html`<${HealthBadge} health=${r.health} /> <${HealthNote} health=${r.health} />`,
    },
    { label: "Last success", render: (r) => html`<${Time} value=${r.health.lastSuccessAt} />` },
    {
      label: "Last error",
      render: (r) =>
        r.health.lastError
          ? html`<span class="last-error" title=${r.health.lastError}>${r.health.lastError}</span>`
          : html`<span class="muted">—</span>`,
    },
    { label: "Pending", render: (r) => html`<span class=${r.health.pendingCount ? "" : "muted"}>${r.health.pendingCount}</span>` },
  ];
  if (modify) {
    columns.push({
      label: "Actions",
      render: (r) => html`<${RowActions} dest=${r} overrides=${data.overrides}
        onDeleted=${() => {
          setDeleted(r.displayName);
          setData((d) => ({ ...d, list: d.list.filter((x) => x.outputId !== r.outputId) }));
        }}
        onError=${setDeleteError} />`,
    });
  }

  return html`<${PageHeader} title="Destinations">
      ${modify ? html`<a class="button primary" href="/destinations/new">Add destination</a>` : null}
    </${PageHeader}>
    ${flash ? html`<${Notice}>${flash}</${Notice}>` : null}
    ${deleted ? html`<${Notice}>Deleted “${deleted}”.</${Notice}>` : null}
    <${ErrorBox} error=${deleteError} title="Not deleted" />
    ${error ? html`<${ErrorBox} error=${error} title="Destinations could not be loaded" />` : null}
    ${loading && !data ? html`<${Loading} what="Loading destinations" />` : null}
    ${data
      ? html`<div class="destinations-list"><${Table} columns=${columns} rows=${data.list} rowKey=${(r) => r.outputId}
          caption=${`${data.list.length} destination${data.list.length === 1 ? "" : "s"} · health updates live`}
          empty=${modify ? "No destinations yet. Add one to start delivering alerts." : "No destinations yet."} /></div>`
      : null}`;
}

function RowActions({ dest, overrides, onDeleted, onError }) {
  const [test, send] = useTestSend(dest.outputId);
  return html`<div class="row-actions">
    <div class="row">
      <button type="button" disabled=${test.busy} onClick=${send}>Send test alert</button>
      <a class="button" href=${`/destinations/${encodeURIComponent(dest.outputId)}`} aria-label=${`Edit ${dest.displayName}`}>Edit</a>
      <${ConfirmButton} label="Delete" confirm="Delete destination" question=${deleteQuestion(dest, overrides)}
        onConfirm=${async () => {
          onError(null);
          try {
            await deleteDestination(dest.outputId);
            onDeleted();
          } catch (e) {
            onError(e);
          }
        }} />
    </div>
    <${TestResults} state=${test} compact=${true} />
  </div>`;
}
