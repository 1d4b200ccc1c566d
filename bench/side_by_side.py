#!/usr/bin/env python3
"""Herald and Prometheus Alertmanager, side by side, against one nginx receiver.

Started by bench/alertmanager.sh (which installs the tools and builds Herald). Every
figure counts what was stored and delivered (nginx's access log), not requests sent.
"""
import atexit
import base64
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyhttp  # noqa: E402

HERALD = os.environ["HERALD_BIN"]
# Scenarios to run (comma-separated names, see SCENARIOS at the end); default: all.
ONLY = set(filter(None, os.environ.get("ONLY", "").split(",")))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "10"))
AM_ALERTS = int(os.environ.get("AM_ALERTS", "5000"))
CLIENTS = 32
PG = "postgres://postgres@127.0.0.1:5432"
ALL_SEVERITIES = ["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
work = tempfile.mkdtemp(prefix="herald-bench-")
procs = []
KEY = base64.b64encode(os.urandom(32)).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args, env=None, log="proc.log"):
    out = open(os.path.join(work, log), "w")
    p = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def wait_http(url, timeout=60, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            sys.exit(f"the process serving {url} exited (logs in {work})")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer 200 within {timeout} s (logs in {work})")


def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def rss_kib(pid, field="VmHWM"):
    """Peak (VmHWM) or current (VmRSS) resident memory of a process, in KiB."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@atexit.register
def stop_all():
    for p in procs:
        stop(p)


# --- the receiver ---------------------------------------------------------------------
nginx_port = free_port()
access_log = os.path.join(work, "access.log")
nginx_conf = os.path.join(work, "nginx.conf")
with open(nginx_conf, "w") as f:
    f.write(f"""
worker_processes 1;
error_log {work}/nginx-error.log;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  log_format bench '$msec $uri';
  access_log {access_log} bench buffer=64k flush=100ms;
  client_body_temp_path {work}/nginx-body;
  server {{
    listen 127.0.0.1:{nginx_port} backlog=4096;
    keepalive_requests 1000000;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
nginx = shutil.which("nginx") or "/usr/sbin/nginx"
start([nginx, "-c", nginx_conf, "-p", work, "-g", "daemon off;"], log="nginx.log")
wait_http(f"http://127.0.0.1:{nginx_port}/ready")
receiver = f"http://127.0.0.1:{nginx_port}"


class AccessLog:
    """nginx's access log, read incrementally: each call reads only the lines added since
    the last one (re-reading the whole log every quarter second cost the measured run a
    fifth of the machine once it held a few hundred thousand lines)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.seen = {}  # uri -> [count, time of the last]

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            ms, _, uri = line.partition(b" ")
            entry = self.seen.setdefault(uri.strip().decode(), [0, 0.0])
            entry[0] += 1
            entry[1] = max(entry[1], float(ms))


log_reader = AccessLog(access_log)


def deliveries(path):
    """(count, time of the last) of requests nginx received on `path`."""
    log_reader.read()
    n, last = log_reader.seen.get(path, (0, 0.0))
    return n, last


def wait_deliveries(path, expected, stall=20, count=None):
    """Wait until `expected` requests reached `path` (nginx's log, or `count`), or none
    arrived for `stall` s."""
    count = count or deliveries
    seen, since = -1, time.time()
    while True:
        n, last = count(path)
        if n >= expected:
            return n, last
        if n != seen:
            seen, since = n, time.time()
        elif time.time() - since > stall:
            return n, last
        time.sleep(0.25)


def wrk_args(url, seconds, script=None, headers=(), clients=CLIENTS):
    args = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    if script:
        args += ["-s", script]
    return args + [url]


def wrk_result(out):
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), out


def wrk(url, seconds, script=None, headers=(), clients=CLIENTS):
    out = subprocess.run(wrk_args(url, seconds, script, headers, clients),
                         capture_output=True, text=True, check=True).stdout
    return wrk_result(out)


results = {}

# --- loopback ceiling ----------------------------------------------------------------------
rps, _ = wrk(f"{receiver}/ceiling", 5)
results["ceiling"] = rps
print(f"loopback ceiling (wrk -> nginx, {CLIENTS} connections): {rps:,.0f} requests/s", flush=True)

# --- Alertmanager ------------------------------------------------------------------------
am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def alertmanager(label, base_url, path, webhooks=1, count=None):
    """Deliveries/s of Alertmanager: AM_ALERTS alerts in batches of 500, per-alert
    grouping, `webhooks` webhook configs (paths path-0, path-1, ...) to `base_url`."""
    port = free_port()
    yml = os.path.join(work, f"am{path.strip('/')}.yml")
    hooks = "\n".join(f"      - url: {base_url}{path}-{i}\n        send_resolved: false"
                      for i in range(webhooks))
    with open(yml, "w") as f:
        f.write(f"""
route:
  receiver: bench
  group_by: ['...']
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 24h
receivers:
  - name: bench
    webhook_configs:
{hooks}
""")
    am = start([am_bin, f"--config.file={yml}", f"--storage.path={work}/am{path.strip('/')}",
                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
               log=f"alertmanager{path.strip('/')}.log")
    wait_http(f"http://127.0.0.1:{port}/-/ready")
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    t0 = time.time()
    for batch in range(0, AM_ALERTS, 500):
        alerts = [{"labels": {"alertname": "bench", "id": f"a{i}"}, "startsAt": now}
                  for i in range(batch, min(batch + 500, AM_ALERTS))]
        post(f"http://127.0.0.1:{port}/api/v2/alerts", alerts)
    n, last = 0, t0
    for i in range(webhooks):
        k, t = wait_deliveries(f"{path}-{i}", AM_ALERTS, count=count)
        n, last = n + k, max(last, t)
    rate = n / max(last - t0, 1e-3)
    print(f"{label}: {n} webhooks for {AM_ALERTS} alerts in {last - t0:.2f} s = "
          f"{rate:,.0f} webhooks/s (peak RSS {rss_kib(am.pid) // 1024} MB)", flush=True)
    stop(am)
    return rate


# --- Herald -------------------------------------------------------------------------------
WRK_CREATE = """
local counter = 0
local thread_id = 0
local ids = 0
function setup(thread)
  ids = ids + 1
  thread:set("tid", ids)
end
function init(args)
  thread_id = tid
end
function request()
  counter = counter + 1
  local body = string.format([[{"query":"mutation($i: CreateAlertInput!) { createAlert(input: $i) { id } }","variables":{"i":{"detectionId":"bench","title":"bench alert","severity":"HIGH","dedupString":"RUN-t%d-%d"}}}]], thread_id, counter)
  return wrk.format("POST", "/graphql", nil, body)
end
"""
WRK_BATCH = """
local counter = 0
local thread_id = 0
local ids = 0
function setup(thread)
  ids = ids + 1
  thread:set("tid", ids)
end
function init(args)
  thread_id = tid
end
function request()
  local items = {}
  for i = 1, 100 do
    counter = counter + 1
    items[i] = string.format([[{"detectionId":"bench","title":"bench alert","severity":"HIGH","dedupString":"RUN-t%d-%d"}]], thread_id, counter)
  end
  local body = [[{"query":"mutation($i: [CreateAlertInput!]!) { createAlerts(input: $i) { id } }","variables":{"i":[]] .. table.concat(items, ",") .. "]}}"
  return wrk.format("POST", "/graphql", nil, body)
end
"""


def sql(db_url, query):
    if db_url.startswith("sqlite://"):
        path = db_url[len("sqlite://"):].split("?")[0]
        with sqlite3.connect(path) as c:
            return c.execute(query).fetchone()[0]
    out = subprocess.run(["psql", db_url, "-Atc", query],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def count_stored(db_url):
    return sql(db_url, "SELECT count(*) FROM alerts")


class Herald:
    """A `herald serve` process on `db_url`, with a token."""

    def __init__(self, db_url, log, env=None):
        self.port = free_port()
        self.env = dict(os.environ,
                        HERALD_DATABASE_URL=db_url,
                        HERALD_LISTEN=f"127.0.0.1:{self.port}",
                        HERALD_ENCRYPTION_KEY=KEY,
                        HERALD_OUTBOUND_ALLOWLIST="127.0.0.0/8",
                        HERALD_LOG=os.environ.get("HERALD_LOG", "warn"), **(env or {}))
        self.proc = start([HERALD, "serve"], env=self.env, log=log)
        wait_http(f"http://127.0.0.1:{self.port}/healthz", proc=self.proc)
        time.sleep(0.5)
        self.idle_kib = rss_kib(self.proc.pid, "VmRSS")
        self.token = subprocess.run([HERALD, "token", "create", "--name", "bench"], env=self.env,
                                    capture_output=True, text=True, check=True).stdout.strip()
        self.gql = f"http://127.0.0.1:{self.port}/graphql"

    def call(self, query, variables=None):
        return post(self.gql, {"query": query, "variables": variables or {}},
                    {"x-api-key": self.token})

    def add_webhook(self, name, url):
        add = self.call("mutation($i: DestinationInput!) { addDestination(input: $i) { outputId } }",
                        {"i": {"displayName": name, "defaultForSeverity": ALL_SEVERITIES,
                               "outputConfig": {"customWebhook": {"webhookURL": url}}}})
        if add.get("errors"):
            sys.exit(f"addDestination failed: {add['errors']}")

    def peak_mb(self):
        return rss_kib(self.proc.pid) // 1024


def herald_run(label, db_url, script_text, path, destinations=1, processes=1,
               base_url=None, count=None, env=None):
    """Load Herald with wrk for SECONDS (32 connections, split between `processes`
    processes on one database), every alert routed to `destinations` webhooks
    (paths path-0, ...); deliveries/s end to end."""
    base_url = base_url or receiver
    hs = [Herald(db_url, f"herald{path.strip('/')}-{i}.log", env) for i in range(processes)]
    for d in range(destinations):
        hs[0].add_webhook(f"bench-{d}", f"{base_url}{path}-{d}")
    # One script per process: each wrk numbers its threads from 1, so the dedup
    # strings carry the process too.
    scripts = []
    for i in range(processes):
        scripts.append(os.path.join(work, f"{path.strip('/')}-{i}.lua"))
        with open(scripts[-1], "w") as f:
            f.write(script_text.replace("RUN", f"{path.strip('/')}-p{i}"))
    t0 = time.time()
    runs = [subprocess.Popen(wrk_args(h.gql, SECONDS, scripts[i],
                                      [f"x-api-key: {h.token}", "content-type: application/json"],
                                      CLIENTS // processes),
                             stdout=subprocess.PIPE, text=True) for i, h in enumerate(hs)]
    outs = [r.communicate()[0] for r in runs]
    wrk_secs = time.time() - t0
    rps = sum(wrk_result(o)[0] for o in outs)
    # Requests wrk cut off at its end may still commit: count once they have.
    time.sleep(1)
    stored = count_stored(db_url)
    n, last = 0, t0
    for d in range(destinations):
        k, t = wait_deliveries(f"{path}-{d}", stored, count=count)
        n, last = n + k, max(last, t)
    if n > stored * destinations:
        print(f"  ({n - stored * destinations} deliveries more than alerts x destinations: re-sends)")
    rate = n / max(last - t0, 1e-3)
    # The latency distribution's own line ("     99%   10.90ms"), not a "+/- Stdev"
    # figure that happens to end in 99% ("71.99%", followed by the next line's label).
    p99 = re.search(r"^\s*99%\s+(\S+)", outs[0], re.M)
    print(f"{label}: {stored:,} alerts stored = {stored / wrk_secs:,.0f}/s accepted; "
          f"{n:,} delivered = {rate:,.0f} deliveries/s end to end "
          f"(requests/s {rps:,.0f}, request p99 {p99.group(1) if p99 else '?'}, "
          f"RSS idle {hs[0].idle_kib // 1024} MB, peak {max(h.peak_mb() for h in hs)} MB)", flush=True)
    for h in hs:
        stop(h.proc)
    return rate


def pg_database():
    """A fresh PostgreSQL database (dropped at exit), or None when none answers."""
    if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode != 0:
        return None
    db = f"herald_bench_{os.getpid()}_{free_port()}"
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    if os.environ.get("KEEP_WORK"):
        print(f"  (PostgreSQL database {db} kept)")
    else:
        atexit.register(lambda: subprocess.run(
            ["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"]))
    return f"{PG}/{db}"


def latency(rate=1000, seconds=None):
    """createAlert returned -> received by the webhook, at a fixed rate, SQLite."""
    seconds = seconds or SECONDS
    loop = pyhttp.Loop()
    rx = pyhttp.Receiver(loop)
    h = Herald(f"sqlite://{work}/latency.db?mode=rwc", "herald-latency.log")
    h.add_webhook("latency", f"http://127.0.0.1:{rx.port}/lat")
    returned, errors = pyhttp.paced_creates(loop, h.port, h.token, rate, seconds)
    wait_deliveries("/lat", len(returned), count=rx.deliveries, stall=10)
    lat = [(rx.arrived[a] - t) * 1000 for a, t in returned.items() if a in rx.arrived]
    print(f"latency at {rate}/s for {seconds} s, SQLite: {len(returned):,} alerts, "
          f"{len(lat):,} received, {len(errors)} errors; createAlert returned -> received "
          f"p50 {pyhttp.percentile(lat, .5):.1f} ms, p99 {pyhttp.percentile(lat, .99):.1f} ms, "
          f"max {max(lat) if lat else float('nan'):.1f} ms (negative: the webhook arrived before "
          f"the caller read its answer); peak RSS {h.peak_mb()} MB", flush=True)
    stop(h.proc)
    return pyhttp.percentile(lat, .99)


def paging(total=1_000_000):
    """`alerts` pages of 100 at the start, middle and end of 1M bulk-seeded alerts,
    and `alert(id)` with its deliveries."""
    import base64 as b64
    url = f"sqlite://{work}/paging.db?mode=rwc"
    path = f"{work}/paging.db"
    h = Herald(url, "herald-paging.log")
    h.add_webhook("paging", f"{receiver}/paging")
    ids = [h.call("mutation($i: CreateAlertInput!) { createAlert(input: $i) { id } }",
                  {"i": {"detectionId": "paging", "title": "t", "severity": "HIGH",
                         "dedupString": str(i)}})["data"]["createAlert"]["id"] for i in range(20)]
    wait_deliveries("/paging", 20)
    stop(h.proc)
    t0 = time.time()
    with sqlite3.connect(path) as c:
        cols = [r[1] for r in c.execute("PRAGMA table_info(alerts)") if r[1] != "seq"]
        exprs = {"id": "lower(hex(randomblob(16)))", "dedup_string": "'seed-' || n.i",
                 "detection_id": "'seed-' || (n.i % 1000)",
                 "created_at": "t.created_at - (n.i * 10)", "updated_at": "t.updated_at - (n.i * 10)"}
        select = ", ".join(exprs.get(col, f"t.{col}") for col in cols)
        c.execute(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {total})
                      INSERT INTO alerts ({", ".join(cols)})
                      SELECT {select} FROM n, (SELECT * FROM alerts ORDER BY seq LIMIT 1) AS t""")
    seeded = time.time() - t0
    h = Herald(url, "herald-paging2.log")
    top = sql(url, "SELECT max(seq) FROM alerts")
    q = "query($c: String) { alerts(input: {pageSize: 100, cursor: $c}) { edges { node { id title severity } } pageInfo { endCursor } } }"

    def timed(query, variables, rounds=200):
        ts = []
        for _ in range(rounds):
            t = time.perf_counter()
            r = h.call(query, variables)
            ts.append((time.perf_counter() - t) * 1000)
            if r.get("errors"):
                sys.exit(f"paging: {r['errors']}")
        return pyhttp.percentile(ts, .5), pyhttp.percentile(ts, .99)

    out = []
    for name, seq in (("start", None), ("middle", top // 2), ("end", 150)):
        cursor = None if seq is None else b64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")
        p50, p99 = timed(q, {"c": cursor})
        out.append(p50)
        print(f"  alerts page of 100 at the {name} of {top:,} alerts: p50 {p50:.2f} ms, p99 {p99:.2f} ms", flush=True)
    one = "query($id: ID!) { alert(id: $id) { id title deliveries { status attempts { statusCode dispatchedAt } } } }"
    p50, p99 = timed(one, {"id": ids[5]})
    print(f"  alert(id) with its deliveries and attempts: p50 {p50:.2f} ms, p99 {p99:.2f} ms "
          f"(seeding {total:,} alerts took {seeded:.0f} s; peak RSS {h.peak_mb()} MB)", flush=True)
    stop(h.proc)
    return max(out)


slow_results = {}


def want(name):
    return not ONLY or name in ONLY


if want("am"):
    results["alertmanager"] = alertmanager(f"Alertmanager {os.path.basename(am_bin)}", receiver, "/am")
if want("create"):
    results["herald createAlert, SQLite"] = herald_run(
        f"Herald createAlert x{CLIENTS} clients, SQLite", f"sqlite://{work}/herald.db?mode=rwc",
        WRK_CREATE, "/h1")
if want("batch"):
    results["herald createAlerts x100, SQLite"] = herald_run(
        "Herald createAlerts (100 per request), SQLite", f"sqlite://{work}/herald-batch.db?mode=rwc",
        WRK_BATCH, "/h2")
# "pg" runs the three PostgreSQL scenarios; "pg1", "pgbatch" and "pg2" each one of them.
pg_wanted = [n for n in ("pg1", "pgbatch", "pg2") if want("pg") or want(n)]
pg_up = pg_database() if pg_wanted else None
if pg_up:
    if "pg1" in pg_wanted:
        results["herald createAlert, PostgreSQL"] = herald_run(
            f"Herald createAlert x{CLIENTS} clients, PostgreSQL, 1 process", pg_up, WRK_CREATE, "/h3")
    if "pgbatch" in pg_wanted:
        results["herald createAlerts x100, PostgreSQL"] = herald_run(
            "Herald createAlerts (100 per request), PostgreSQL, 1 process", pg_database(), WRK_BATCH, "/h4")
    if "pg2" in pg_wanted:
        results["herald createAlert, PostgreSQL, 2 processes"] = herald_run(
            f"Herald createAlert x{CLIENTS} clients split over 2 processes, PostgreSQL", pg_database(),
            WRK_CREATE, "/h5", processes=2)
elif pg_wanted:
    print("PostgreSQL: not measured (nothing answers on 127.0.0.1:5432)")
if want("three"):
    results["alertmanager, 3 webhooks per alert"] = alertmanager(
        "Alertmanager, 3 webhooks per alert", receiver, "/am3", webhooks=3)
    results["herald createAlerts x100, SQLite, 3 destinations"] = herald_run(
        "Herald createAlerts (100 per request), SQLite, 3 destinations per alert",
        f"sqlite://{work}/herald-3.db?mode=rwc", WRK_BATCH, "/h6", destinations=3)
if want("slow"):
    loop = pyhttp.Loop()
    slow = pyhttp.Receiver(loop, delay=0.05)
    slow_url = f"http://127.0.0.1:{slow.port}"
    slow_results["alertmanager"] = alertmanager(
        "Alertmanager, receiver answering in 50 ms", slow_url, "/amslow", count=slow.deliveries)
    slow_results["herald createAlerts x100, SQLite"] = herald_run(
        "Herald createAlerts (100 per request), SQLite, receiver answering in 50 ms",
        f"sqlite://{work}/herald-slow.db?mode=rwc", WRK_BATCH, "/h7", base_url=slow_url,
        count=slow.deliveries)
if want("latency"):
    latency()
if want("paging"):
    paging()

print("\nratios (same run):")
am_rate = results.get("alertmanager")
for k, v in results.items():
    if k in ("ceiling", "alertmanager") or not am_rate:
        continue
    base = results.get("alertmanager, 3 webhooks per alert", am_rate) if "3 destinations" in k else am_rate
    print(f"  {k}: {v:,.0f}/s = {v / base:.2f}x Alertmanager, {v / results['ceiling']:.3f}x the loopback ceiling")
if am_rate:
    print(f"  Alertmanager: {am_rate / results['ceiling']:.3f}x the loopback ceiling")
if slow_results:
    a = slow_results["alertmanager"]
    for k, v in slow_results.items():
        if k != "alertmanager":
            print(f"  with a 50 ms receiver, {k}: {v:,.0f}/s = {v / a:.2f}x Alertmanager's {a:,.0f}/s")
if os.environ.get("KEEP_WORK"):
    print(f"logs and databases kept in {work}")
else:
    shutil.rmtree(work, ignore_errors=True)
