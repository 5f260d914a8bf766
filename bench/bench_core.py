"""On-demand benchmark (`make bench`) of what a warm and a cold Lambda cost beyond their real work.

A handler should add little to the query it wraps: GET of one trigger and a 50-item page, invoked in
process as template.yaml wires them, are compared with the same SQL on a bare connection (target:
at most 2x). A handler module should import little beyond the libraries every handler needs: its
import time is compared with importing Powertools, pydantic and psycopg2 alone (target: at most
1.3x), and it must not pull in boto3 or redis. The run seeds a database of its own, through the
domain, and drops it at the end.
"""

import copy
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from local.server import FunctionHost
from local.template import Function, LocalTemplate, load_template
from trigger_platform import triggers
from trigger_platform.auth import create_tenant_with_token
from trigger_platform.edge import wiring
from trigger_platform.migrations import migrate
from trigger_platform.models import TriggerDefinition
from trigger_platform.pagination import decode_cursor

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

MEASURED_TENANT_TRIGGERS = 10_000
OTHER_TENANTS = 2
OTHER_TENANT_TRIGGERS = 2_500
SEED_DEFINITIONS = [
    {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}},
    {"type": "api", "payload": {"key": "value"}},
]
WARMUP = 200
ITERATIONS = 2_000
PAGE_SIZE = 50
IMPORT_RUNS = 7
LATENCY_TARGET = 2.0
IMPORT_TARGET = 1.3

COLUMNS = "id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at"
GET_SQL = f"SELECT {COLUMNS} FROM triggers WHERE tenant_id = %s AND id = %s"  # noqa: S608 - constant columns
PAGE_SQL = f"SELECT {COLUMNS} FROM triggers WHERE tenant_id = %s AND id > %s ORDER BY id LIMIT %s"  # noqa: S608

#: Run in a fresh interpreter: times the import in {body}, then tells whether boto3 or redis came along.
IMPORT_PROBE = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
print(elapsed, "boto3" in sys.modules, "redis" in sys.modules)
"""
BASELINE_IMPORT = "import aws_lambda_powertools.event_handler, aws_lambda_powertools.logging, pydantic, psycopg2"
HANDLER_IMPORT = """
spec = importlib.util.spec_from_file_location("handler", {path!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


@contextmanager
def fresh_database() -> Iterator[str]:
    """A migrated database of its own on the server, the one every handler uses; dropped at the end."""
    name = f"etp_bench_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))
        migrate(url)
        os.environ["DATABASE_URL"] = url
        yield url
    finally:
        wiring.database().close()
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


def seed() -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The measured tenant and its trigger ids, created through the domain among other tenants' triggers."""
    tenants = [create_tenant_with_token(f"bench-{n}", wiring.token_store())[0] for n in range(1 + OTHER_TENANTS)]
    measured = tenants[0]
    owners = [measured] * MEASURED_TENANT_TRIGGERS + tenants[1:] * OTHER_TENANT_TRIGGERS
    random.shuffle(owners)
    definitions = [TriggerDefinition.model_validate(d).root for d in SEED_DEFINITIONS]
    store, scheduler = wiring.trigger_store(), wiring.local_scheduler()
    ids = []
    with store.atomic():  # create_trigger's own transactions join this one: one commit for all
        for n, owner in enumerate(owners):
            trigger = triggers.create_trigger(owner, definitions[n % 2], store, scheduler, wiring.clock())
            if owner == measured:
                ids.append(trigger.id)
    with wiring.database().cursor() as cur:
        cur.execute("ANALYZE")
    return measured, ids


def api_event(name: str, tenant: uuid.UUID) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    event["requestContext"]["authorizer"].update(tenant_id=str(tenant), principalId=str(tenant))
    return event


def header(response: dict[str, Any], name: str) -> str | None:
    values = (response.get("multiValueHeaders") or {}).get(name) or []
    return values[0] if values else (response.get("headers") or {}).get(name)


def compare(prepare: Callable[[], tuple[Callable[[], Any], Callable[[], Any]]]) -> tuple[list[int], list[int]]:
    """Nanoseconds of the handler call and of its bare SQL, alternated on the same random input."""
    handler_ns, sql_ns = [], []
    for n in range(WARMUP + ITERATIONS):
        via_handler, via_sql = prepare()
        start = time.perf_counter_ns()
        response = via_handler()
        middle = time.perf_counter_ns()
        via_sql()
        end = time.perf_counter_ns()
        assert response["statusCode"] == 200, response
        if n >= WARMUP:
            handler_ns.append(middle - start)
            sql_ns.append(end - middle)
    return handler_ns, sql_ns


def page_cursors(invoke: Callable[[str | None], dict[str, Any]]) -> list[str | None]:
    """Every page's cursor (None for the first), following the Link headers the handler returns."""
    cursors: list[str | None] = [None]
    while True:
        response = invoke(cursors[-1])
        assert len(json.loads(response["body"])) == PAGE_SIZE
        link = header(response, "Link")
        if link is None:
            return cursors
        cursors.append(parse_qs(urlsplit(link[1 : link.index(">")]).query)["cursor"][0])


def latencies(template: LocalTemplate, tenant: uuid.UUID, ids: list[uuid.UUID]) -> dict[str, tuple[list[int], ...]]:
    host = FunctionHost()
    conn = psycopg2.connect(os.environ["DATABASE_URL"])
    conn.autocommit = True
    cur = conn.cursor()
    get_event = api_event("get_trigger", tenant)
    list_event = api_event("list_triggers-page", tenant)

    def prepare_get() -> tuple[Callable[[], Any], Callable[[], Any]]:
        trigger_id = random.choice(ids)
        event = copy.deepcopy(get_event)
        event["path"] = f"/triggers/{trigger_id}"
        event["pathParameters"] = {"trigger_id": str(trigger_id)}
        return (
            lambda: host.invoke(template.functions["GetTriggerFunction"], event),
            lambda: (cur.execute(GET_SQL, (tenant, trigger_id)), cur.fetchone()),
        )

    def invoke_list(cursor: str | None) -> dict[str, Any]:
        event = copy.deepcopy(list_event)
        query = {"limit": str(PAGE_SIZE)} | ({"cursor": cursor} if cursor else {})
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
        response: dict[str, Any] = host.invoke(template.functions["ListTriggersFunction"], event)
        return response

    cursors = page_cursors(invoke_list)

    def prepare_list() -> tuple[Callable[[], Any], Callable[[], Any]]:
        cursor = random.choice(cursors)
        after = decode_cursor(cursor) if cursor else uuid.UUID(int=0)
        return (
            lambda: invoke_list(cursor),
            lambda: (cur.execute(PAGE_SQL, (tenant, after, PAGE_SIZE + 1)), cur.fetchall()),
        )

    try:
        return {"GET /triggers/{id}": compare(prepare_get), f"GET /triggers?limit={PAGE_SIZE}": compare(prepare_list)}
    finally:
        conn.close()


def api_functions(template: LocalTemplate) -> list[Function]:
    """Every function behind an Api route, and the authorizer."""
    found = {route.function.logical_id: route.function for route in template.routes}
    if template.authorizer is not None:
        found[template.authorizer.logical_id] = template.authorizer
    return list(found.values())


def import_probe(body: str, environment: dict[str, str]) -> tuple[float, bool, bool]:
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "trigger-platform", **environment}
    code = IMPORT_PROBE.format(body=body)
    # Our own interpreter running our own probe text.
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    seconds, boto3, redis = out.stdout.split()
    return float(seconds), boto3 == "True", redis == "True"


def import_times(template: LocalTemplate) -> dict[str, tuple[float, bool, bool]]:
    """Median import seconds per handler (and the baseline), whether boto3 or redis came along."""
    probes = {"baseline": (BASELINE_IMPORT, {})} | {
        f.logical_id: (HANDLER_IMPORT.format(path=str(f.code_uri / "app.py")), f.environment)
        for f in api_functions(template)
    }
    seconds: dict[str, list[float]] = {label: [] for label in probes}
    leaks: dict[str, tuple[bool, bool]] = {}
    for run in range(IMPORT_RUNS + 1):  # the first round writes the bytecode caches and is dropped
        order = list(probes)
        random.shuffle(order)
        for label in order:
            elapsed, boto3, redis = import_probe(*probes[label])
            leaks[label] = (boto3 or leaks.get(label, (False, False))[0], redis or leaks.get(label, (False, False))[1])
            if run:
                seconds[label].append(elapsed)
    return {label: (statistics.median(seconds[label]), *leaks[label]) for label in probes}


def median_p95_us(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.95)] / 1000


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER"


def report(latency: dict[str, tuple[list[int], ...]], imports: dict[str, tuple[float, bool, bool]]) -> None:
    print(f"\n{'latency (µs)':<28}{'handler p50':>12}{'p95':>9}{'SQL p50':>10}{'p95':>9}{'ratio':>8}  target")
    for label, (handler_ns, sql_ns) in latency.items():
        (handler_p50, handler_p95), (sql_p50, sql_p95) = median_p95_us(handler_ns), median_p95_us(sql_ns)
        ratio = handler_p50 / sql_p50
        print(
            f"{label:<28}{handler_p50:>12.0f}{handler_p95:>9.0f}{sql_p50:>10.0f}{sql_p95:>9.0f}"
            f"{ratio:>7.1f}x  ≤{LATENCY_TARGET:g}x {verdict(ratio, LATENCY_TARGET)}"
        )
    baseline = imports["baseline"][0]
    print(f"\n{f'import (ms, median of {IMPORT_RUNS})':<28}{'ms':>8}{'ratio':>8}  target      boto3  redis")
    for label, (seconds, boto3, redis) in imports.items():
        ratio = seconds / baseline
        mark = "" if label == "baseline" else f"≤{IMPORT_TARGET:g}x {verdict(ratio, IMPORT_TARGET):<4}"
        print(f"{label:<28}{seconds * 1000:>8.1f}{ratio:>7.2f}x  {mark:<10}  {boto3!s:<6} {redis!s:<6}")


def main() -> None:
    template = load_template(ROOT / "template.yaml")
    started = time.perf_counter()
    with fresh_database():
        tenant, ids = seed()
        others = OTHER_TENANTS * OTHER_TENANT_TRIGGERS
        print(f"seeded {len(ids):,} triggers for the measured tenant and {others:,} for {OTHER_TENANTS} others")
        print(f"in {time.perf_counter() - started:.1f}s; {ITERATIONS:,} calls each after {WARMUP} warm-up")
        latency = latencies(template, tenant, ids)
    imports = import_times(template)
    report(latency, imports)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
