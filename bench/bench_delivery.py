"""On-demand benchmark of delivery (`.venv/bin/python bench/bench_delivery.py`).

1. The fire path of a trigger *without* a target, before and after delivery (target: ≤ 1.1x):
   ``POST /triggers/{id}/fire`` (FireTriggerFunction) and a scheduled fire (FireScheduledFunction)
   through their handlers in process, as template.yaml wires them, each on a fresh database. "Before"
   is the code at ``BASELINE_REF`` (default: main just before delivery was merged), unpacked with
   ``git archive`` into a temporary directory; both stay warm in subprocesses, timed in alternating
   slices of 100 fires (2,000 each), so that both see the same load on a shared machine.
2. 1,000 fires of an api trigger whose target is a receiver on loopback, through ``python -m local``
   (DELIVERY_ALLOW_PRIVATE_NETWORKS=true), from 4 client threads: fire → received latency p50/p99
   (target p99 ≤ 1 s; from the log's fired_at to the receiver's clock, one machine), and
   deliveries per second. Every delivery's signature is checked afterwards with standardwebhooks.
3. Capacity: 1,000 deliveries queued by a runtime that delivers nothing (LOCAL_DELIVERY_WORKERS=0),
   then drained by one that does (start-up included): to one target host, then spread over four.

Exits 0 whatever the figures; about 3 minutes. Needs PostgreSQL at DATABASE_URL (default
postgresql://postgres@127.0.0.1:5432/postgres); makes its own databases and drops them.
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Main just before delivery was merged (ace1a3d, e8a509b's first parent): the fire path as it was
#: before, and without the X-Ray SDK, which the venv no longer holds (8b916a0, where the delivery
#: branch started, still imported it).
BASELINE_REF = os.environ.get("BASELINE_REF", "ace1a3d")
FIRES = 1_000
CLIENTS = 4
SLICES = 20
SLICE = 100

#: Runs inside a subprocess with one code tree on sys.path: median µs of each fire path.
MEASURE = r"""
import copy, json, os, statistics, sys, time, uuid
root = sys.argv[1]
sys.path[:0] = [root + "/layers/core", root]
os.environ.update(SCHEDULER_BACKEND="local", POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_DISABLED="true",
                  POWERTOOLS_LOG_LEVEL="WARNING")
from pathlib import Path
from local.migrations import migrate_with_local_scheduler
from local.server import FunctionHost
from local.template import load_template
try:
    from trigger_platform.auth import create_tenant
except ImportError:  # the baseline's name for it
    from trigger_platform.auth import create_tenant_with_token as create_tenant
from trigger_platform.edge import wiring
migrate_with_local_scheduler(os.environ["DATABASE_URL"])
tenant_id, _ = create_tenant("bench", tokens=wiring.token_store())
template, host = load_template(Path(root) / "template.yaml"), FunctionHost()
def invoke(name, event): return host.invoke(template.functions[name], event)
def api(name, body, path_id=None):
    event = json.loads((Path(root) / "events" / f"{name}.json").read_text())
    event["requestContext"]["authorizer"]["tenant_id"] = str(tenant_id)
    event["body"] = json.dumps(body)
    event["headers"].pop("Idempotency-Key", None); event["multiValueHeaders"].pop("Idempotency-Key", None)
    if path_id:
        event["pathParameters"] = {"trigger_id": path_id}
        event["path"] = event["resource"].replace("{trigger_id}", path_id)
    return event
created = invoke("CreateTriggerFunction", api("create_trigger-api", {"type": "api", "payload": {"key": "value"}}))
fire_event = api("fire_trigger", {"key": "other"}, json.loads(created["body"])["id"])
scheduled = invoke("CreateTriggerFunction", api("create_trigger-scheduled",
    {"type": "scheduled", "schedule": {"interval": 1, "unit": "days", "is_recurring": True}}))
trigger = json.loads(scheduled["body"])["trigger"]
def due(i):
    return {"trigger_id": trigger["id"], "tenant_id": str(tenant_id), "version": 1,
            "scheduled_time": f"2030-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"}
def timed(call, n):
    samples = []
    for i in range(n):
        started = time.perf_counter(); call(i); samples.append(time.perf_counter() - started)
    return samples
for i in range(300):
    invoke("FireTriggerFunction", copy.deepcopy(fire_event))
calls = {"api": lambda i: invoke("FireTriggerFunction", copy.deepcopy(fire_event)),
         "scheduled": lambda i, n=iter(range(10**6)): invoke("FireScheduledFunction", due(next(n)))}
print("ready", flush=True)
for line in sys.stdin:  # "<path> <count>": time that many fires, answer their durations
    path, count = line.split()
    print(json.dumps(timed(calls[path], int(count))), flush=True)
"""


def fresh_database() -> tuple[str, str]:
    name = f"etp_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return name, urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


def drop_database(name: str) -> None:
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


class FirePath:
    """One code tree's fire paths, warm in a subprocess of their own on a fresh database."""

    def __init__(self, tree: Path) -> None:
        self.database, url = fresh_database()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", MEASURE, str(tree)],
            env={**os.environ, "DATABASE_URL": url},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tree,
        )
        assert self.process.stdout is not None
        while (line := self.process.stdout.readline()).strip() != "ready":
            if not line:  # it ended (its error is on stderr)
                drop_database(self.database)
                raise RuntimeError(f"the fire paths of {tree} did not start")

    def time(self, path: str, count: int) -> list[float]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{path} {count}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())  # type: ignore[no-any-return]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        drop_database(self.database)


def fire_path_before_and_after() -> None:
    archive = subprocess.run(["git", "archive", BASELINE_REF], cwd=ROOT, capture_output=True, check=True).stdout  # noqa: S603, S607
    with tempfile.TemporaryDirectory() as baseline:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(baseline, filter="data")
        before, after = FirePath(Path(baseline)), FirePath(ROOT)
        try:
            samples: dict[tuple[str, str], list[float]] = {}
            # Short alternating slices, so both trees see the same load on a shared machine.
            for _ in range(SLICES):
                for path in ("api", "scheduled"):
                    for label, tree in (("before", before), ("after", after)):
                        samples.setdefault((path, label), []).extend(tree.time(path, SLICE))
        finally:
            before.close()
            after.close()
    print(f"1. fire path of a trigger without a target ({BASELINE_REF} -> this tree), {SLICES * SLICE} fires each")
    for path, label in (("api", "POST /triggers/{id}/fire"), ("scheduled", "scheduled fire")):
        was = statistics.median(samples[(path, "before")]) * 1e6
        now = statistics.median(samples[(path, "after")]) * 1e6
        verdict = "ok" if now / was <= 1.1 else "OVER"
        print(f"   {label:26} before {was:6.0f} µs  after {now:6.0f} µs  {now / was:.3f}x (≤ 1.1x: {verdict})")


class Receipts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[tuple[float, dict[str, str], bytes]] = []


def start_receiver(receipts: Receipts) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.time()
            with receipts.lock:
                receipts.received.append((now, dict(self.headers.items()), body))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def request(base: str, token: str, method: str, path: str, body: Any) -> Any:
    data = json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - loopback only
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
        return json.loads(answer.read())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def local_runtime(database_url: str, token: str, **env: str) -> Iterator[str]:
    """``python -m local`` on ``database_url`` (private targets allowed); yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "API_TOKEN": token,
            "PORT": str(port),
            "LOCAL_DATA_DIR": tempfile.mkdtemp(),
            "DELIVERY_ALLOW_PRIVATE_NETWORKS": "true",
            # What is measured is delivery: the tenant's rate limit (20/s by default) is lifted.
            "TENANT_RATE_LIMIT": "100000",
            "TENANT_RATE_BURST": "100000",
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip().startswith("Token:"):
                break
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def fire_all(base: str, token: str, trigger_ids: list[str]) -> float:
    """FIRES fires spread over the triggers, from CLIENTS threads; how long it took."""
    started = time.time()

    def client(index: int) -> None:
        for n in range(FIRES // CLIENTS):
            trigger_id = trigger_ids[(index + n) % len(trigger_ids)]
            request(base, token, "POST", f"/triggers/{trigger_id}/fire", {})

    clients = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    return time.time() - started


def wait_for(receipts: Receipts, count: int) -> None:
    deadline = time.time() + 120
    while len(receipts.received) < count and time.time() < deadline:
        time.sleep(0.02)


def deliveries_through_the_local_runtime() -> None:
    name, url = fresh_database()
    receipts = Receipts()
    receiver = start_receiver(receipts)
    token = "etp_bench-" + uuid.uuid4().hex
    target = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    try:
        with local_runtime(url, token) as base:
            created = request(base, token, "POST", "/triggers", {"type": "api", "target": {"url": target}})
            trigger_id, secret = created["id"], created["trigger"]["target"]["secret"]
            started = time.time()
            fired_s = fire_all(base, token, [trigger_id])
            wait_for(receipts, FIRES)
    finally:
        receiver.shutdown()
        drop_database(name)
    received = receipts.received
    latencies = sorted(
        at - datetime.fromisoformat(json.loads(body)["fired_at"]).astimezone(UTC).timestamp()
        for at, _, body in received
    )
    for _, headers, body in received:
        Webhook(secret).verify(body, headers)  # raises if a signature does not verify
    unique = len({headers["webhook-id"] for _, headers, _ in received})
    span = max(at for at, _, _ in received) - started
    p50 = statistics.median(latencies)
    p99 = latencies[max(0, round(0.99 * len(latencies)) - 1)]
    print(f"2. {FIRES} fires to a loopback receiver through python -m local ({CLIENTS} clients)")
    print(f"   fired in {fired_s:.2f} s ({FIRES / fired_s:.0f} fires/s); received {len(received)} ({unique} distinct),")
    print(f"   every signature verified; {len(received) / span:.0f} deliveries/s over the run (as fast as fired)")
    verdict = "ok" if p99 <= 1.0 else "OVER"
    print(f"   fire → received latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms (p99 ≤ 1 s: {verdict})")


def draining_a_backlog(hosts: int) -> None:
    """FIRES deliveries queued while nothing delivers, then drained by a runtime that does: the
    delivery capacity, for one target host (one batch in flight) and for several."""
    name, url = fresh_database()
    receipts = Receipts()
    receivers = [start_receiver(receipts) for _ in range(hosts)]
    token = "etp_bench-" + uuid.uuid4().hex
    try:
        with local_runtime(url, token, LOCAL_DELIVERY_WORKERS="0") as base:
            trigger_ids = [
                request(
                    base,
                    token,
                    "POST",
                    "/triggers",
                    {"type": "api", "target": {"url": f"http://127.0.0.1:{r.server_address[1]}/hooks"}},
                )["id"]
                for r in receivers
            ]
            fire_all(base, token, trigger_ids)
        with local_runtime(url, token):
            started = time.time()
            wait_for(receipts, FIRES)
            drained_s = max(at for at, _, _ in receipts.received) - started
    finally:
        for receiver in receivers:
            receiver.shutdown()
        drop_database(name)
    print(f"3. a backlog of {FIRES} deliveries to {hosts} host(s), drained from a runtime's start")
    count = len(receipts.received)
    print(f"   {count} received in {drained_s:.2f} s: {count / drained_s:.0f} deliveries/s")


if __name__ == "__main__":
    fire_path_before_and_after()
    deliveries_through_the_local_runtime()
    draining_a_backlog(hosts=1)
    draining_a_backlog(hosts=4)
