"""What a trigger read costs beyond its SQL, and a handler's cold start beyond its libraries (issue 16).

- GET /triggers/{id} through GetTriggerFunction vs the statements ``triggers.get_trigger`` sends,
  replayed on a bare connection: target ≤ 1.5x.
- GET /triggers?limit=50, a random page of a tenant with 10,000 triggers among 5,000 of others,
  vs its statements: ≤ 1.5x.
- GET /triggers?limit=500 of a tenant with 301 triggers: p95 ≤ 2x p50.
- Each API handler's import in a fresh interpreter, with its template environment as on Lambda
  (tracing on), vs ``import aws_lambda_powertools.event_handler, pydantic, psycopg2`` in the same
  rounds: ≤ 1.3x; and boto3, redis and aws_xray_sdk not imported at cold start (a handler that
  needs one imports it on first use).

Handlers run in process as the local runtime hosts them, with events from events/; triggers are
made by the domain. About 2-4 minutes here.
"""

import random
import subprocess
import sys
import time
from contextlib import closing
from typing import Any
from uuid import UUID

from common import (
    API_TRIGGER,
    Case,
    Functions,
    StatementRecorder,
    api_event,
    connect,
    create_triggers,
    duration,
    fresh_database,
    heading,
    interleaved,
    median,
    new_tenant,
    percentile,
    replay,
    show,
    show_ratio,
    unit_of_work_on,
)

from local.template import Function
from trigger_platform import triggers
from trigger_platform.records import Trigger

SCHEDULED_TRIGGER = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
MEASURED_TRIGGERS, OTHER_TENANTS, OTHER_TRIGGERS = 10_000, 2, 2_500
LARGE_PAGE, LARGE_PAGE_TRIGGERS = 500, 301
WARMUP, GET_RUNS, PAGE_RUNS, LARGE_PAGE_RUNS = 200, 2_000, 1_000, 500
READ_TARGET, LARGE_PAGE_SPREAD_TARGET, IMPORT_TARGET = 1.5, 2.0, 1.3

IMPORT_ROUNDS = 7
HEAVY_MODULES = ("boto3", "redis", "aws_xray_sdk")
FLOOR_IMPORT = "import aws_lambda_powertools.event_handler, pydantic, psycopg2"
HANDLER_IMPORT = (
    "spec = importlib.util.spec_from_file_location('app', {path!r})\n"
    "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
)
#: Run by a fresh interpreter: the seconds ``body`` takes to import, then the heavy modules it loaded.
IMPORT_PROBE = """
import importlib.util, sys, time
start = time.perf_counter()
{body}
print(time.perf_counter() - start, *[name for name in {heavy!r} if name in sys.modules])
"""


def expect(status: int, response: dict[str, Any]) -> None:
    assert response["statusCode"] == status, response


def seed(url: str) -> tuple[UUID, list[Trigger], UUID]:
    """The measured tenant and its triggers, another tenant with one large page, and other tenants'."""
    measured, large = new_tenant("core"), new_tenant("large-page")
    for other in [new_tenant("other") for _ in range(OTHER_TENANTS)]:
        for document in (API_TRIGGER, SCHEDULED_TRIGGER):
            create_triggers(url, other, document, OTHER_TRIGGERS // 2)
    mine = [
        trigger
        for document in (API_TRIGGER, SCHEDULED_TRIGGER)
        for trigger in create_triggers(url, measured, document, MEASURED_TRIGGERS // 2)
    ]
    create_triggers(url, large, API_TRIGGER, LARGE_PAGE_TRIGGERS)
    with closing(connect(url)) as conn, conn.cursor() as cur:
        cur.execute("ANALYZE")
    return measured, mine, large


def get_cases(functions: Functions, url: str, bare: Any, tenant: UUID, seeded: list[Trigger]) -> dict[str, Case]:
    """GET /triggers/{id} of a random trigger, and the statements the domain sends for it."""
    sample = random.sample(seeded, 500)
    statements = []
    with closing(StatementRecorder(url)) as recorder:
        store = unit_of_work_on(recorder).triggers
        for trigger in sample:
            triggers.get_trigger(tenant, str(trigger.id), store=store)
            statements.append(recorder.take())

    def handler(n: int) -> Any:
        event = api_event("get_trigger", tenant, trigger_id=str(sample[n % len(sample)].id))
        return lambda: expect(200, functions.invoke("GetTriggerFunction", event))

    return {"handler": handler, "sql": lambda n: lambda: replay(bare, statements[n % len(sample)])}


def page_cases(functions: Functions, url: str, bare: Any, tenant: UUID, limit: int) -> dict[str, Case]:
    """GET /triggers?limit=<limit> at a random page of the tenant's, and the statements the domain sends for it."""
    cursors: list[str | None] = [None]
    statements = []
    with closing(StatementRecorder(url)) as recorder:
        store = unit_of_work_on(recorder).triggers
        while True:
            page = triggers.list_triggers(tenant, limit, cursors[-1], store=store)
            statements.append(recorder.take())
            if page.next_cursor is None:
                break
            cursors.append(page.next_cursor)

    def handler(n: int) -> Any:
        cursor = cursors[n % len(cursors)]
        query = {"limit": str(limit)} | ({"cursor": cursor} if cursor else {})
        event = api_event("list_triggers-page", tenant, query=query)
        return lambda: expect(200, functions.invoke("ListTriggersFunction", event))

    return {"handler": handler, "sql": lambda n: lambda: replay(bare, statements[n % len(cursors)])}


def show_spread(label: str, samples: list[int], target: float) -> None:
    spread = percentile(samples, 0.95) / median(samples)
    value = (
        f"p50 {duration(median(samples))}, p95 {duration(percentile(samples, 0.95))},"
        f" max {duration(max(samples))}: {spread:.2f}x"
    )
    show(label, value, f"≤ {target:g}x", spread <= target)


def import_probe(body: str, environment: dict[str, str]) -> tuple[int, list[str]]:
    """Nanoseconds ``body`` takes to import in a fresh interpreter, and the heavy modules it loaded."""
    code = IMPORT_PROBE.format(body=body, heavy=HEAVY_MODULES)
    # This interpreter, running our own probe text.
    out = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)  # noqa: S603
    seconds, *loaded = out.stdout.split()
    return int(float(seconds) * 1e9), loaded


def lambda_environment(function: Function | None) -> dict[str, str]:
    """What Lambda sets for the function (its template variables, and the task root that turns
    tracing on); the floor gets none of it."""
    base = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}  # noqa: S108 - an interpreter's home, nothing written
    if function is None:
        return base
    task = {"LAMBDA_TASK_ROOT": str(function.code_uri), "AWS_LAMBDA_FUNCTION_NAME": function.logical_id}
    return base | function.environment | task


def import_times(functions: Functions) -> tuple[dict[str, list[int]], dict[str, set[str]]]:
    """Each API handler's and the floor's import nanoseconds over IMPORT_ROUNDS rounds (after one
    that writes the bytecode caches), in a new order each round; and the heavy modules each loaded."""
    template = functions.template
    api = {route.function.logical_id: route.function for route in template.routes}
    if template.authorizer is not None:
        api[template.authorizer.logical_id] = template.authorizer
    probes = {"floor": (FLOOR_IMPORT, lambda_environment(None))} | {
        name: (HANDLER_IMPORT.format(path=str(f.code_uri / "app.py")), lambda_environment(f)) for name, f in api.items()
    }
    seconds: dict[str, list[int]] = {name: [] for name in probes}
    loaded: dict[str, set[str]] = {name: set() for name in probes}
    for round_number in range(IMPORT_ROUNDS + 1):
        order = list(probes)
        random.shuffle(order)
        for name in order:
            took, modules = import_probe(*probes[name])
            loaded[name].update(modules)
            if round_number:
                seconds[name].append(took)
    return seconds, loaded


def main() -> None:
    started = time.perf_counter()
    functions = Functions()
    with fresh_database() as url, closing(connect(url)) as bare_connection:
        bare = bare_connection.cursor()
        tenant, seeded, large = seed(url)
        print(
            f"seeded {MEASURED_TRIGGERS:,} triggers of the measured tenant, {OTHER_TENANTS * OTHER_TRIGGERS:,} of"
            f" {OTHER_TENANTS} others and {LARGE_PAGE_TRIGGERS} of one more in {time.perf_counter() - started:.0f} s"
        )
        heading(f"warm reads, handler and its SQL taking turns ({WARMUP} rounds of warm-up)")
        get = interleaved(get_cases(functions, url, bare, tenant, seeded), warmup=WARMUP, runs=GET_RUNS)
        show_ratio(f"GET /triggers/{{id}} vs its SQL, {GET_RUNS:,} runs", get["handler"], get["sql"], READ_TARGET)
        page = interleaved(page_cases(functions, url, bare, tenant, 50), warmup=WARMUP, runs=PAGE_RUNS)
        show_ratio(f"GET /triggers?limit=50 vs its SQL, {PAGE_RUNS:,} runs", page["handler"], page["sql"], READ_TARGET)
        large_page = interleaved(page_cases(functions, url, bare, large, LARGE_PAGE), warmup=50, runs=LARGE_PAGE_RUNS)
        label = f"GET /triggers?limit={LARGE_PAGE} ({LARGE_PAGE_TRIGGERS} triggers) x {LARGE_PAGE_RUNS}: p95/p50"
        show_spread(label, large_page["handler"], LARGE_PAGE_SPREAD_TARGET)
        show_spread("  its SQL alone: p95/p50", large_page["sql"], LARGE_PAGE_SPREAD_TARGET)
        show_ratio("  the handler vs its SQL", large_page["handler"], large_page["sql"], READ_TARGET)

    heading(f"cold start: import in a fresh interpreter, medians of {IMPORT_ROUNDS} rounds, vs `{FLOOR_IMPORT}`")
    seconds, loaded = import_times(functions)
    for name in sorted(seconds.keys() - {"floor"}):
        show_ratio(name, seconds[name], seconds["floor"], IMPORT_TARGET)
    handlers = sorted(loaded.keys() - {"floor"})
    for module in HEAVY_MODULES:
        importing = [name for name in handlers if module in loaded[name]]
        value = f"{len(importing)} of {len(handlers)} handlers" + (
            f": {', '.join(importing)}" if 0 < len(importing) < len(handlers) else ""
        )
        show(f"{module} imported at cold start", value, "none", not importing)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine)")


if __name__ == "__main__":
    main()
