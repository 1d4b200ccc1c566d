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

HERALD = os.environ["HERALD_BIN"]
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


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM"):
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


def deliveries(path):
    """(count, time of the last) of requests nginx received on `path`."""
    n, last = 0, 0.0
    try:
        with open(access_log) as f:
            for line in f:
                ms, uri = line.split(" ", 1)
                if uri.strip() == path:
                    n += 1
                    last = max(last, float(ms))
    except FileNotFoundError:
        pass
    return n, last


def wait_deliveries(path, expected, stall=20):
    """Wait until `expected` requests reached `path`, or none arrived for `stall` s."""
    seen, since = -1, time.time()
    while True:
        n, last = deliveries(path)
        if n >= expected:
            return n, last
        if n != seen:
            seen, since = n, time.time()
        elif time.time() - since > stall:
            return n, last
        time.sleep(0.25)


def wrk(url, seconds, script=None, headers=()):
    args = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    if script:
        args += ["-s", script]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, out


results = {}

# --- loopback ceiling ----------------------------------------------------------------------
rps, _ = wrk(f"{receiver}/ceiling", 5)
results["ceiling"] = rps
print(f"loopback ceiling (wrk -> nginx, {CLIENTS} connections): {rps:,.0f} requests/s", flush=True)

# --- Alertmanager ------------------------------------------------------------------------
am_port = free_port()
am_yml = os.path.join(work, "am.yml")
with open(am_yml, "w") as f:
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
      - url: {receiver}/am
        send_resolved: false
""")
am_bin = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
am = start([am_bin, f"--config.file={am_yml}", f"--storage.path={work}/am",
            f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
           log="alertmanager.log")
wait_http(f"http://127.0.0.1:{am_port}/-/ready")
now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
t0 = time.time()
for batch in range(0, AM_ALERTS, 500):
    alerts = [{"labels": {"alertname": "bench", "id": f"a{i}"}, "startsAt": now}
              for i in range(batch, min(batch + 500, AM_ALERTS))]
    post(f"http://127.0.0.1:{am_port}/api/v2/alerts", alerts)
n, last = wait_deliveries("/am", AM_ALERTS)
am_rate = n / max(last - t0, 1e-3)
results["alertmanager"] = am_rate
print(f"Alertmanager {os.path.basename(am_bin)}: {n} of {AM_ALERTS} alerts delivered in "
      f"{last - t0:.2f} s = {am_rate:,.0f} webhooks/s (peak RSS {rss_kib(am.pid) // 1024} MB)", flush=True)
stop(am)

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


def count_stored(db_url):
    if db_url.startswith("sqlite://"):
        path = db_url[len("sqlite://"):].split("?")[0]
        with sqlite3.connect(path) as c:
            return c.execute("SELECT count(*) FROM alerts").fetchone()[0]
    out = subprocess.run(["psql", db_url, "-Atc", "SELECT count(*) FROM alerts"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def herald_run(label, db_url, script_text, path):
    port = free_port()
    env = dict(os.environ,
               HERALD_DATABASE_URL=db_url,
               HERALD_LISTEN=f"127.0.0.1:{port}",
               HERALD_ENCRYPTION_KEY=KEY,
               HERALD_OUTBOUND_ALLOWLIST="127.0.0.0/8",
               RUST_LOG="warn")
    h = start([HERALD, "serve"], env=env, log=f"herald-{path.strip('/')}.log")
    wait_http(f"http://127.0.0.1:{port}/healthz", proc=h)
    token = subprocess.run([HERALD, "token", "create", "--name", "bench"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    gql = f"http://127.0.0.1:{port}/graphql"
    add = post(gql, {"query": "mutation($i: DestinationInput!) { addDestination(input: $i) { outputId } }",
                     "variables": {"i": {"displayName": "bench", "defaultForSeverity": ALL_SEVERITIES,
                                         "outputConfig": {"customWebhook": {"webhookURL": f"{receiver}{path}"}}}}},
               {"x-api-key": token})
    if add.get("errors"):
        sys.exit(f"{label}: addDestination failed: {add['errors']}")
    script = os.path.join(work, f"{path.strip('/')}.lua")
    with open(script, "w") as f:
        f.write(script_text.replace("RUN", path.strip("/")))
    t0 = time.time()
    rps, out = wrk(gql, SECONDS, script, [f"x-api-key: {token}", "content-type: application/json"])
    wrk_secs = time.time() - t0
    stored = count_stored(db_url)
    n, last = wait_deliveries(path, stored)
    rate = n / max(last - t0, 1e-3)
    p99 = re.search(r"99%\s+(\S+)", out)
    print(f"{label}: {stored:,} alerts stored = {stored / wrk_secs:,.0f}/s accepted; "
          f"{n:,} delivered = {rate:,.0f} deliveries/s end to end "
          f"(requests/s {rps:,.0f}, request p99 {p99.group(1) if p99 else '?'}, "
          f"peak RSS {rss_kib(h.pid) // 1024} MB)", flush=True)
    stop(h)
    return rate


def schema_has(field):
    with open("schema.graphql") as f:
        return re.search(rf"\b{field}\(", f.read()) is not None


results["herald createAlert, SQLite"] = herald_run(
    f"Herald createAlert x{CLIENTS} clients, SQLite", f"sqlite://{work}/herald.db?mode=rwc", WRK_CREATE, "/h1")
if schema_has("createAlerts"):
    results["herald createAlerts x100, SQLite"] = herald_run(
        "Herald createAlerts (100 per request), SQLite", f"sqlite://{work}/herald-batch.db?mode=rwc", WRK_BATCH, "/h2")
else:
    print("Herald createAlerts (100 per request): not measured, the API has no createAlerts yet")

pg_ok = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0
if pg_ok:
    db = f"herald_bench_{os.getpid()}"
    subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {db}"], check=True)
    try:
        results["herald createAlert, PostgreSQL"] = herald_run(
            f"Herald createAlert x{CLIENTS} clients, PostgreSQL", f"{PG}/{db}", WRK_CREATE, "/h3")
    finally:
        subprocess.run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
else:
    print("PostgreSQL: not measured (nothing answers on 127.0.0.1:5432)")

print("\nNot measured by this script yet: 3 destinations per alert, a 50 ms receiver, "
      "createAlert -> received latency at 1,000 alerts/s, polling over 1M alerts "
      "(cargo bench --bench throughput measures paging).")
print("\nratios (same run):")
am_rate = results["alertmanager"]
for k, v in results.items():
    if k in ("ceiling", "alertmanager"):
        continue
    print(f"  {k}: {v:,.0f}/s = {v / am_rate:.2f}x Alertmanager, {v / results['ceiling']:.3f}x the loopback ceiling")
print(f"  Alertmanager: {am_rate / results['ceiling']:.3f}x the loopback ceiling")
shutil.rmtree(work, ignore_errors=True)
