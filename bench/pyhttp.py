"""Small asyncio HTTP/1.1 pieces for the benchmark scenarios nginx and wrk cannot do:
a receiver that answers after a delay and notes when each alert arrived, and a client
that sends createAlert at a fixed rate and notes when each call returned. Both run on
one event loop in a background thread, so their clocks are the same."""
import asyncio
import json
import threading
import time


class Loop:
    """An event loop in a background thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout=None):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


async def read_message(reader):
    """(first line, headers, body) of one HTTP/1.1 message, or None at EOF."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = await reader.readexactly(n) if n else b""
    return lines[0], headers, body


class Receiver:
    """Answers 200 after `delay` seconds; counts requests per path and notes the arrival
    time of each `alertId` in the JSON bodies."""

    def __init__(self, loop, delay=0.0):
        self.loop = loop
        self.delay = delay
        self.count = {}
        self.last = {}
        self.arrived = {}
        self.port = loop.run(self._start())

    async def _start(self):
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096)
        return self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader, writer):
        try:
            while True:
                line, _, body = await read_message(reader)
                at = time.monotonic()
                path = line.split(" ")[1] if " " in line else "/"
                self.count[path] = self.count.get(path, 0) + 1
                self.last[path] = time.time()
                try:
                    alert = json.loads(body).get("alertId")
                    if alert:
                        self.arrived.setdefault(alert, at)
                except (ValueError, AttributeError):
                    pass
                if self.delay:
                    await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def deliveries(self, path):
        """(count, wall-clock time of the last) of requests received on `path`."""
        return self.count.get(path, 0), self.last.get(path, 0.0)


async def _client(host, port, token, starts, returned, errors, detection):
    reader, writer = await asyncio.open_connection(host, port)
    for (i, at) in starts:
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        body = json.dumps({
            "query": "mutation($i: CreateAlertInput!) { createAlert(input: $i) { id } }",
            "variables": {"i": {"detectionId": detection, "title": "latency", "severity": "HIGH",
                                "dedupString": f"lat-{i}"}},
        }).encode()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n"
            + f"x-api-key: {token}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body)
        await writer.drain()
        _, _, resp = await read_message(reader)
        now = time.monotonic()
        try:
            returned[json.loads(resp)["data"]["createAlert"]["id"]] = now
        except (ValueError, KeyError, TypeError):
            errors.append(resp[:200])
    writer.close()


def paced_creates(loop, port, token, rate, seconds, connections=16, detection="latency"):
    """Send `rate` createAlert calls per second for `seconds` over `connections`
    keep-alive connections; {alert id: time the call returned}, and the errors."""
    returned, errors = {}, []
    t0 = time.monotonic() + 0.2
    total = int(rate * seconds)
    plan = [[] for _ in range(connections)]
    for i in range(total):
        plan[i % connections].append((i, t0 + i / rate))

    async def all_clients():
        await asyncio.gather(*[
            _client("127.0.0.1", port, token, p, returned, errors, detection) for p in plan])

    loop.run(all_clients())
    return returned, errors


def percentile(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]
