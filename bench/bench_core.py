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
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg2
from common import fresh_database

from local.server import FunctionHost
from local.template import Function, LocalTemplate, load_template
from trigger_platform import triggers
from trigger_platform.auth import create_tenant_with_token
from trigger_platform.edge import wiring
from trigger_platform.models import TriggerDefinition
from trigger_platform.pagination import decode_cursor

ROOT = Path(__file__).resolve().parent.parent

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

FORBIDDEN_MODULES = ("boto3", "redis")
#: Run in a fresh interpreter: times the import in {body}, then names the forbidden modules it loaded.
IMPORT_PROBE = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
elapsed = time.perf_counter() - start
print(elapsed, *[name for name in {forbidden!r} if name in sys.modules])
"""
BASELINE_IMPORT = "import aws_lambda_powertools.event_handler, aws_lambda_powertools.logging, pydantic, psycopg2"
HANDLER_IMPORT = """
spec = importlib.util.spec_from_file_location("handler", {path!r})
spec.loader.exec_module(importlib.util.module_from_spec(spec))
"""


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


def timed(call: Callable[[], Any]) -> tuple[int, Any]:
    start = time.perf_counter_ns()
    result = call()
    return time.perf_counter_ns() - start, result


def compare(prepare: Callable[[], tuple[Callable[[], Any], Callable[[], Any]]]) -> tuple[list[int], list[int]]:
    """Nanoseconds of the handler call and of its bare SQL, each time on the same random input."""
    handler_ns, sql_ns = [], []
    for n in range(WARMUP + ITERATIONS):
        via_handler, via_sql = prepare()
        # Taking turns at going first, so that neither always finds what the other just warmed.
        if n % 2:
            sql_took, _ = timed(via_sql)
            handler_took, response = timed(via_handler)
        else:
            handler_took, response = timed(via_handler)
            sql_took, _ = timed(via_sql)
        assert response["statusCode"] == 200, response
        if n >= WARMUP:
            handler_ns.append(handler_took)
            sql_ns.append(sql_took)
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


def latencies(
    template: LocalTemplate, tenant: uuid.UUID, ids: list[uuid.UUID]
) -> dict[str, tuple[list[int], list[int]]]:
    host = FunctionHost()
    conn = psycopg2.connect(os.environ["DATABASE_URL"])
    conn.autocommit = True
    cur = conn.cursor()
    get_event = api_event("get_trigger", tenant)
    list_event = api_event("list_triggers-page", tenant)

    def sql_get(trigger_id: uuid.UUID) -> Any:
        cur.execute(GET_SQL, (tenant, trigger_id))
        return cur.fetchone()

    def sql_page(after: uuid.UUID) -> Any:
        cur.execute(PAGE_SQL, (tenant, after, PAGE_SIZE + 1))
        return cur.fetchall()

    def prepare_get() -> tuple[Callable[[], Any], Callable[[], Any]]:
        trigger_id = random.choice(ids)
        event = copy.deepcopy(get_event)
        event["path"] = f"/triggers/{trigger_id}"
        event["pathParameters"] = {"trigger_id": str(trigger_id)}
        return (
            lambda: host.invoke(template.functions["GetTriggerFunction"], event),
            lambda: sql_get(trigger_id),
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
        return lambda: invoke_list(cursor), lambda: sql_page(after)

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


def import_probe(body: str, environment: dict[str, str]) -> tuple[float, list[str]]:
    """Seconds the import took in a fresh interpreter, and the forbidden modules it loaded."""
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "trigger-platform", **environment}
    code = IMPORT_PROBE.format(body=body, forbidden=FORBIDDEN_MODULES)
    command = [sys.executable, "-c", code]  # this interpreter running our own probe text
    out = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603
    seconds, *loaded = out.stdout.split()
    return float(seconds), loaded


def import_times(template: LocalTemplate) -> dict[str, tuple[float, set[str]]]:
    """Median import seconds of the baseline and of each handler, and the forbidden modules each loaded."""
    probes = {"baseline": (BASELINE_IMPORT, {})} | {
        f.logical_id: (HANDLER_IMPORT.format(path=str(f.code_uri / "app.py")), f.environment)
        for f in api_functions(template)
    }
    seconds: dict[str, list[float]] = {label: [] for label in probes}
    loaded: dict[str, set[str]] = {label: set() for label in probes}
    for run in range(IMPORT_RUNS + 1):  # the first round writes the bytecode caches and is dropped
        order = list(probes)
        random.shuffle(order)  # interleaved, in a new order each round, so drift hits all alike
        for label in order:
            elapsed, modules = import_probe(*probes[label])
            loaded[label].update(modules)
            if run:
                seconds[label].append(elapsed)
    return {label: (statistics.median(seconds[label]), loaded[label]) for label in probes}


def median_p95_us(samples: list[int]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.95)] / 1000


def verdict(ratio: float, target: float) -> str:
    return "ok" if ratio <= target else "OVER"


def report(latency: dict[str, tuple[list[int], list[int]]], imports: dict[str, tuple[float, set[str]]]) -> None:
    print(f"\n{'latency (µs)':<28}{'handler p50':>12}{'p95':>9}{'SQL p50':>10}{'p95':>9}{'ratio':>8}  target")
    for label, (handler_ns, sql_ns) in latency.items():
        (handler_p50, handler_p95), (sql_p50, sql_p95) = median_p95_us(handler_ns), median_p95_us(sql_ns)
        ratio = handler_p50 / sql_p50
        print(
            f"{label:<28}{handler_p50:>12.0f}{handler_p95:>9.0f}{sql_p50:>10.0f}{sql_p95:>9.0f}"
            f"{ratio:>7.1f}x  ≤{LATENCY_TARGET:g}x {verdict(ratio, LATENCY_TARGET)}"
        )
    baseline = imports["baseline"][0]
    print(f"\n{f'import (median of {IMPORT_RUNS})':<28}{'ms':>8}{'ratio':>8}  target      boto3/redis")
    for label, (seconds, loaded) in imports.items():
        ratio = seconds / baseline
        mark = "" if label == "baseline" else f"≤{IMPORT_TARGET:g}x {verdict(ratio, IMPORT_TARGET)}"
        print(f"{label:<28}{seconds * 1000:>8.1f}{ratio:>7.2f}x  {mark:<10}  {' '.join(sorted(loaded)) or 'none'}")


def main() -> None:
    template = load_template(ROOT / "template.yaml")
    started = time.perf_counter()
    with fresh_database():
        tenant, ids = seed()
        others = OTHER_TENANTS * OTHER_TENANT_TRIGGERS
        print(
            f"seeded {len(ids):,} triggers of the measured tenant among {others:,} of {OTHER_TENANTS} other"
            f" tenants in {time.perf_counter() - started:.1f}s"
        )
        print(f"latency: {ITERATIONS:,} calls each after {WARMUP} warm-up, handler and bare SQL taking turns")
        latency = latencies(template, tenant, ids)
    imports = import_times(template)
    report(latency, imports)
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
