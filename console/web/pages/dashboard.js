// The dashboard: alerts per severity over time, the detections with most alerts, and
// how deliveries fared (success rate, destinations with failures), for the last 24
// hours, 7 days or 30 days; refreshed live when alerts are created.
import { can, gql, subscribe } from "../lib/api.js";
import { setQuery } from "../lib/router.js";
import { ErrorBox, Field, html, Loading, PageHeader, SEVERITIES, Table, useEffect, useLoad, useRef, useState } from "../lib/ui.js";

const HOUR = 3600 * 1000;
const RANGES = [
  { id: "24h", label: "Last 24 hours", ms: 24 * HOUR, interval: 60 },
  { id: "7d", label: "Last 7 days", ms: 7 * 24 * HOUR, interval: 360 },
  { id: "30d", label: "Last 30 days", ms: 30 * 24 * HOUR, interval: 1440 },
];
const METRICS = `query($input: MetricsInput!) { metrics(input: $input) {
  totalAlerts
  alertsPerSeverity { label value breakdown }
  alertsPerRule { entityId label value }
  deliveriesPerDestination { outputId label exists succeeded failed pending }
} }`;
const CREATED = "subscription { alertCreated { id } }";
/** At most one refresh per this many milliseconds while alerts stream in. */
const LIVE_EVERY = 5000;

const SEVERITY_COLORS = { INFO: "#9ca3af", LOW: "#60a5fa", MEDIUM: "#f59e0b", HIGH: "#dc2626", CRITICAL: "#7f1d1d" };
const OUTCOME_COLORS = { succeeded: "#1d7a46", failed: "#b3261e", pending: "#6366f1" };

/** A Chart.js chart on a canvas, rebuilt when `config` changes, destroyed on unmount. */
function Chart({ config, label, height = 260 }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    if (!window.Chart || !canvas.current) return undefined;
    chart.current = new window.Chart(canvas.current, config);
    return () => {
      chart.current.destroy();
      chart.current = null;
    };
  }, [config]);
  if (!window.Chart) return html`<p class="error">Charts are unavailable (Chart.js did not load).</p>`;
  return html`<div class="chart" style=${`height:${height}px`}><canvas ref=${canvas} role="img" aria-label=${label}></canvas></div>`;
}

function bucketLabel(iso, range) {
  const d = new Date(iso);
  if (range.id === "24h") return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (range.id === "7d") return d.toLocaleString([], { weekday: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  return d.toLocaleDateString([], { month: "short", day: "numeric" });
}

function severityChart(series, range) {
  const buckets = Object.keys(series[0]?.breakdown || {}).sort();
  const bySeverity = Object.fromEntries(series.map((s) => [s.label, s]));
  return {
    type: "bar",
    data: {
      labels: buckets.map((b) => bucketLabel(b, range)),
      datasets: SEVERITIES.filter((s) => bySeverity[s]).map((s) => ({
        label: s,
        data: buckets.map((b) => bySeverity[s].breakdown[b] || 0),
        backgroundColor: SEVERITY_COLORS[s],
        stack: "alerts",
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      responsive: true,
      interaction: { mode: "index", intersect: false },
      scales: { x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { position: "bottom" } },
    },
  };
}

function rulesChart(rules) {
  return {
    type: "bar",
    data: {
      labels: rules.map((r) => (r.label.length > 40 ? `${r.label.slice(0, 39)}…` : r.label)),
      datasets: [{ label: "Alerts", data: rules.map((r) => r.value), backgroundColor: "#3b3f8f" }],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      responsive: true,
      indexAxis: "y",
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      plugins: { legend: { display: false } },
    },
  };
}

function outcomesChart(destinations) {
  return {
    type: "bar",
    data: {
      labels: destinations.map((d) => d.label),
      datasets: ["succeeded", "failed", "pending"].map((k) => ({
        label: k[0].toUpperCase() + k.slice(1),
        data: destinations.map((d) => d[k]),
        backgroundColor: OUTCOME_COLORS[k],
        stack: "deliveries",
      })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      responsive: true,
      indexAxis: "y",
      scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } },
      plugins: { legend: { position: "bottom" } },
    },
  };
}

function percent(n, d) {
  if (!d) return "—";
  const p = (100 * n) / d;
  return `${p >= 99.95 || p < 0.05 ? p.toFixed(0) : p.toFixed(1)}%`;
}

function Stat({ label, value, hint, kind }) {
  return html`<div class=${`panel stat ${kind || ""}`}>
    <div class="stat-label">${label}</div>
    <div class="stat-value">${value}</div>
    ${hint ? html`<div class="muted stat-hint">${hint}</div>` : null}
  </div>`;
}

function Body({ m, range }) {
  const dests = m.deliveriesPerDestination;
  const sum = (k) => dests.reduce((n, d) => n + d[k], 0);
  const [succeeded, failed, pending] = [sum("succeeded"), sum("failed"), sum("pending")];
  const failing = dests.filter((d) => d.failed > 0);
  // Configs are rebuilt only when the figures change, so the charts are not redrawn for nothing.
  const sevKey = JSON.stringify(m.alertsPerSeverity);
  const ruleKey = JSON.stringify(m.alertsPerRule);
  const destKey = JSON.stringify(dests);
  const memo = useRef({});
  const config = (name, key, make) => {
    const c = memo.current[name];
    if (c && c.key === key) return c.config;
    memo.current[name] = { key, config: make() };
    return memo.current[name].config;
  };
  const sev = config("sev", sevKey + range.id, () => severityChart(m.alertsPerSeverity, range));
  const rules = m.alertsPerRule || [];
  return html`
    <div class="stats">
      <${Stat} label="Alerts" value=${m.totalAlerts.toLocaleString()} hint=${range.label.toLowerCase()} />
      <${Stat} label="Delivery success rate" value=${percent(succeeded, succeeded + failed)}
        hint=${succeeded + failed ? `${succeeded.toLocaleString()} of ${(succeeded + failed).toLocaleString()} finished deliveries` : "no finished deliveries"}
        kind=${succeeded + failed === 0 ? "" : failed ? "warn" : "ok"} />
      <${Stat} label="Failed deliveries" value=${failed.toLocaleString()} hint=${`${failing.length} destination${failing.length === 1 ? "" : "s"} with failures`} kind=${failed ? "bad" : ""} />
      <${Stat} label="Pending deliveries" value=${pending.toLocaleString()} hint="waiting or being sent" />
    </div>
    <section class="panel">
      <h2>Alerts per severity</h2>
      ${m.totalAlerts
        ? html`<${Chart} config=${sev} label=${`Alerts per severity, ${range.label.toLowerCase()}: ${m.alertsPerSeverity.filter((s) => s.value).map((s) => `${s.label} ${s.value}`).join(", ")}`} />`
        : html`<p class="muted empty">No alerts in this range.</p>`}
    </section>
    <div class="grid2">
      <section class="panel">
        <h2>Top detections</h2>
        ${rules.length
          ? html`<${Chart} config=${config("rules", ruleKey, () => rulesChart(rules))} height=${Math.max(160, 34 * rules.length + 40)}
              label=${`Detections with most alerts: ${rules.map((r) => `${r.label} ${r.value}`).join(", ")}`} />`
          : html`<p class="muted empty">No detection alerts in this range.</p>`}
      </section>
      <section class="panel">
        <h2>Deliveries per destination</h2>
        ${dests.length
          ? html`<${Chart} config=${config("dests", destKey, () => outcomesChart(dests))} height=${Math.max(160, 34 * dests.length + 60)}
              label=${`Deliveries per destination: ${dests.map((d) => `${d.label} ${d.succeeded} succeeded, ${d.failed} failed, ${d.pending} pending`).join("; ")}`} />`
          : html`<p class="muted empty">No deliveries in this range.</p>`}
      </section>
    </div>
    <section class="panel">
      <h2>Destinations with failures</h2>
      <${Table}
        rows=${failing}
        rowKey=${(d) => d.outputId}
        empty="No failed deliveries in this range."
        columns=${[
          { label: "Destination", render: (d) => (d.exists ? html`<a href=${`/destinations/${encodeURIComponent(d.outputId)}`}>${d.label}</a>` : html`${d.label} <span class="muted">(deleted)</span>`) },
          { label: "Failed", render: (d) => html`<strong class="bad-text">${d.failed}</strong>` },
          { label: "Succeeded", render: (d) => String(d.succeeded) },
          { label: "Pending", render: (d) => String(d.pending) },
          { label: "Success rate", render: (d) => percent(d.succeeded, d.succeeded + d.failed) },
        ]}
      />
    </section>`;
}

export function Dashboard({ query }) {
  const range = RANGES.find((r) => r.id === query.get("range")) || RANGES[0];
  const [tick, setTick] = useState(0);
  const [live, setLive] = useState("connecting");
  const { data, error, loading } = useLoad(() => {
    // Buckets on whole hours (6 hours, days): the range ends at the next boundary.
    const step = range.interval * 60000;
    const to = Math.ceil(Date.now() / step) * step;
    const input = { fromDate: new Date(to - range.ms).toISOString(), toDate: new Date(to).toISOString(), intervalInMinutes: range.interval };
    return gql(METRICS, { input }).then((d) => ({ m: d.metrics, at: Date.now() }));
  }, [range.id, tick]);

  // Live: a created alert refreshes the figures, at most once per LIVE_EVERY (the
  // subscription needs AlertRead; without it the figures refresh on a range change).
  useEffect(() => {
    if (!can("AlertRead")) {
      setLive("needs");
      return undefined;
    }
    let last = 0;
    let timer = null;
    const refresh = () => {
      timer = null;
      last = Date.now();
      setTick((n) => n + 1);
    };
    const stop = subscribe(
      CREATED,
      {},
      () => {
        setLive("live");
        if (timer) return;
        timer = setTimeout(refresh, Math.max(0, last + LIVE_EVERY - Date.now()));
      },
      () => setLive("off"),
    );
    setLive("live");
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, []);

  const shown = data;
  return html`<${PageHeader} title="Dashboard">
      <div class="range-picker">
        <${Field} label="Time range" type="select" value=${range.id} options=${RANGES.map((r) => [r.id, r.label])}
          onInput=${(v) => setQuery({ range: v === RANGES[0].id ? "" : v })} />
      </div>
    </${PageHeader}>
    <p class="muted dash-status" aria-live="polite">
      ${shown ? html`Figures as of ${new Date(shown.at).toLocaleTimeString()}` : null}
      ${live === "live" ? " · updates live when alerts arrive" : live === "off" ? " · live updates unavailable" : live === "needs" ? " · live updates need AlertRead" : ""}
      ${shown ? html` <button type="button" class="link-button" onClick=${() => setTick((n) => n + 1)}>Refresh</button>` : null}
      ${loading && shown ? " · refreshing…" : ""}
    </p>
    ${error ? html`<${ErrorBox} error=${error} title="The figures could not be loaded" />` : null}
    ${loading && !shown ? html`<${Loading} what="Counting alerts and deliveries" />` : null}
    ${shown ? html`<${Body} m=${shown.m} range=${range} />` : null}`;
}
