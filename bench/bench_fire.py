"""On-demand benchmark of firing an api trigger (`.venv/bin/python bench/bench_fire.py`).

``POST /triggers/{id}/fire`` through FireTriggerFunction's handler, invoked in process as template.yaml
wires it (events/fire_trigger.json with the tenant in the authorizer context and the trigger's id in
the path): fires per second (1 / median, and the throughput of a back-to-back run), median and p95,
and the cost as a ratio to one bare INSERT of the same event_logs row on an autocommit connection
(target: at most 2x). Without an Idempotency-Key (the main figure) and with a fresh one each call.

Next to them, for the analysis: the handler's own statements sent on a bare connection (each timed),
and a *sketch* (not the platform's code) of the fire as one statement, the trigger's definition known
in advance and its version checked by the INSERT itself. Then 1,000 fires under cProfile: where the
time goes, by area and by function. Fresh database, dropped at the end; exits 0 whatever the ratios;
about 30 s.
"""

import contextlib
import copy
import cProfile
import json
import os
import pstats
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg2
from common import fresh_database
from psycopg2.extras import Json

from local.server import FunctionHost
from local.template import Function, load_template
from trigger_platform import triggers
from trigger_platform.auth import create_tenant_with_token
from trigger_platform.edge import wiring
from trigger_platform.ids import new_id
from trigger_platform.models import Trigger, TriggerDefinition

ROOT = Path(__file__).resolve().parent.parent

DEFINITION = {"type": "api", "payload": {"key": "value"}}
BODY = {"key": "other"}
WARMUP = 300
ITERATIONS = 3_000
PROFILED = 1_000
TARGET = 2.0
TOP_FUNCTIONS = 16

LOG_INSERT_SQL = """
INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, is_test, scheduled_for, fired_at,
                        payload, status)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
#: The statements fire_api_trigger sends: PostgresTriggerStore.get, then PostgresLogStore.insert.
PLAIN_STEPS = {
    "SELECT trigger": "SELECT id, tenant_id, definition, status, version, next_fire_at, created_at, updated_at"
    " FROM triggers WHERE tenant_id = %s AND id = %s",
    "INSERT event_logs": LOG_INSERT_SQL,
}
#: With an Idempotency-Key: the key claimed and the log inserted in one transaction.
KEYED_STEPS = {
    "SELECT trigger": PLAIN_STEPS["SELECT trigger"],
    "BEGIN": "BEGIN",
    "INSERT idempotency_keys": """
        INSERT INTO idempotency_keys (tenant_id, key, request_hash, log_id, created_at)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (tenant_id, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, log_id = EXCLUDED.log_id, created_at = EXCLUDED.created_at
         WHERE idempotency_keys.created_at <= %s
        RETURNING log_id
    """,
    "INSERT event_logs": LOG_INSERT_SQL,
    "COMMIT": "COMMIT",
}
#: A sketch, not the platform's code: the fire as one statement, for a caller that already holds the
#: trigger's definition (to check the body against) and writes only if the trigger is still that version.
ONE_STATEMENT_SQL = """
INSERT INTO event_logs (id, tenant_id, trigger_id, trigger_type, source, fired_at, payload)
SELECT %(id)s, tenant_id, id, 'api', 'api', %(fired_at)s, %(payload)s FROM triggers
 WHERE tenant_id = %(tenant)s AND id = %(trigger)s AND version = %(version)s AND type = 'api' AND enabled
RETURNING id
"""

Calls = dict[str, Callable[[int], Callable[[], Any]]]


@contextmanager
def quiet() -> Iterator[None]:
    """Powertools prints EMF metrics every 100 values even with POWERTOOLS_METRICS_DISABLED (the
    overflow flush ignores it): kept off this report."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def seed() -> tuple[uuid.UUID, Trigger]:
    """A tenant and its api trigger, created through the domain."""
    tenant = create_tenant_with_token(f"bench-fire-{uuid.uuid4().hex[:6]}", wiring.token_store())[0]
    definition = TriggerDefinition.model_validate(DEFINITION).root
    trigger = triggers.create_trigger(
        tenant, definition, wiring.trigger_store(), wiring.local_scheduler(), wiring.clock()
    )
    return tenant, trigger


def fire_event(tenant: uuid.UUID, trigger: Trigger) -> dict[str, Any]:
    """events/fire_trigger.json for this tenant and trigger, without its Idempotency-Key."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "fire_trigger.json").read_text())
    event["requestContext"]["authorizer"].update(tenant_id=str(tenant), principalId=str(tenant))
    event["path"] = f"/triggers/{trigger.id}/fire"
    event["requestContext"]["path"] = f"/Prod/triggers/{trigger.id}/fire"
    event["pathParameters"] = {"trigger_id": str(trigger.id)}
    event["body"] = json.dumps(BODY)
    del event["headers"]["Idempotency-Key"], event["multiValueHeaders"]["Idempotency-Key"]
    return event


def with_key(event: dict[str, Any], key: str) -> dict[str, Any]:
    keyed = copy.deepcopy(event)
    keyed["headers"]["Idempotency-Key"] = key
    keyed["multiValueHeaders"]["Idempotency-Key"] = [key]
    return keyed


def timed(call: Callable[[], Any]) -> int:
    start = time.perf_counter_ns()
    call()
    return time.perf_counter_ns() - start


def interleaved(cases: Calls) -> dict[str, list[int]]:
    """Nanoseconds of each case, WARMUP + ITERATIONS rounds, each case going first in turn."""
    samples: dict[str, list[int]] = {label: [] for label in cases}
    labels = list(cases)
    with quiet():
        for n in range(WARMUP + ITERATIONS):
            order = labels[n % len(labels) :] + labels[: n % len(labels)]
            took = {label: timed(cases[label](n)) for label in order}
            if n >= WARMUP:
                for label, ns in took.items():
                    samples[label].append(ns)
    return samples


class Cases:
    """Each measured call, prepared for round ``n``: the handler with and without a key, and what it
    is compared with on a bare autocommit connection."""

    def __init__(self, cur: Any, host: FunctionHost, function: Function, tenant: uuid.UUID, trigger: Trigger) -> None:
        self.cur, self.host, self.function, self.tenant, self.trigger = cur, host, function, tenant, trigger
        self.event = fire_event(tenant, trigger)
        self.run = uuid.uuid4().hex[:8]
        self.steps: dict[str, list[int]] = defaultdict(list)

    def log_row(self) -> tuple[Any, ...]:
        now = datetime.now(UTC)
        return (new_id(now), self.tenant, self.trigger.id, "api", "api", False, None, now, Json(BODY), "success")

    def handler(self, n: int) -> Callable[[], Any]:
        def call() -> None:
            response = self.host.invoke(self.function, self.event)
            assert response["statusCode"] == 201, response

        return call

    def keyed_handler(self, n: int) -> Callable[[], Any]:
        keyed = with_key(self.event, f"bench-{self.run}-{n}")

        def call() -> None:
            response = self.host.invoke(self.function, keyed)
            assert response["statusCode"] == 201, response
            assert "Idempotent-Replayed" not in (response.get("multiValueHeaders") or {}), response

        return call

    def bare_insert(self, n: int) -> Callable[[], Any]:
        row = self.log_row()
        return lambda: self.cur.execute(LOG_INSERT_SQL, row)

    def statements(self, kind: str, queries: dict[str, str]) -> Callable[[int], Callable[[], Any]]:
        """The handler's statements on the bare connection, each also timed under ``<kind>  <name>``."""

        def prepare(n: int) -> Callable[[], Any]:
            row = self.log_row()
            params = {
                "SELECT trigger": (self.tenant, self.trigger.id),
                "INSERT idempotency_keys": (self.tenant, f"bare-{self.run}-{n}", b"\0" * 32, row[0], row[7], row[7]),
                "INSERT event_logs": row,
            }

            def call() -> None:
                for name, query in queries.items():
                    start = time.perf_counter_ns()
                    self.cur.execute(query, params.get(name))
                    if self.cur.description is not None:
                        self.cur.fetchone()
                    if n >= WARMUP:
                        self.steps[f"{kind}  {name}"].append(time.perf_counter_ns() - start)

            return call

        return prepare

    def one_statement(self, n: int) -> Callable[[], Any]:
        row = self.log_row()
        params = {"id": row[0], "fired_at": row[7], "payload": row[8], "tenant": self.tenant}
        params |= {"trigger": self.trigger.id, "version": self.trigger.version}

        def call() -> None:
            self.cur.execute(ONE_STATEMENT_SQL, params)
            assert self.cur.fetchone() == (row[0],)

        return call


def measure(url: str, host: FunctionHost, function: Function) -> dict[str, Any]:
    tenant, trigger = seed()
    with contextlib.closing(psycopg2.connect(url)) as conn:
        conn.autocommit = True
        cur = conn.cursor()
        cases = Cases(cur, host, function, tenant, trigger)
        plain = interleaved(
            {
                "handler": cases.handler,
                "bare INSERT": cases.bare_insert,
                "handler's SQL, bare": cases.statements("plain", PLAIN_STEPS),
                "sketch: 1 statement": cases.one_statement,
            }
        )
        keyed = interleaved(
            {
                "handler": cases.keyed_handler,
                "bare INSERT": cases.bare_insert,
                "handler's SQL, bare": cases.statements("keyed", KEYED_STEPS),
            }
        )
        with quiet():
            started = time.perf_counter()
            for n in range(ITERATIONS):
                cases.handler(n)()
            back_to_back = time.perf_counter() - started
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(PROFILED):
                host.invoke(function, cases.event)
            profile.disable()
        cur.execute("SELECT count(*) FROM event_logs WHERE tenant_id = %s", (tenant,))
        logged = cur.fetchone()[0]
    return {
        "plain": plain,
        "keyed": keyed,
        "steps": dict(cases.steps),
        "back_to_back_s": back_to_back,
        "stats": pstats.Stats(profile),
        "logged": logged,
    }


# Report ---------------------------------------------------------------------------------------


def us(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000


def verdict(ratio: float) -> str:
    return "ok" if ratio <= TARGET else "OVER"


def report_latency(title: str, samples: dict[str, list[int]], steps: dict[str, list[int]], kind: str) -> None:
    bare = statistics.median(samples["bare INSERT"])
    print(f"\n{title:<36}{'p50 µs':>8}{'p95 µs':>8}{'fires/s':>9}{'vs INSERT':>11}  target")
    for label, ns in samples.items():
        median = statistics.median(ns)
        mark = f"≤{TARGET:g}x {verdict(median / bare)}" if label == "handler" else ""
        print(
            f"{label:<36}{median / 1000:>8.0f}{us(ns, 0.95):>8.0f}{1e9 / median:>9.0f}{median / bare:>10.1f}x  {mark}"
        )
        if label == "handler's SQL, bare":
            for name, step in steps.items():
                if name.startswith(f"{kind}  "):
                    print(f"{name.removeprefix(kind):<36}{statistics.median(step) / 1000:>8.0f}{us(step, 0.95):>8.0f}")


#: The fire path's nested layers, outermost first: (label, file the function is in, its name). A
#: layer's own cost is its inclusive time minus the next layer's.
LAYERS = (
    ("Powertools Logger/Tracer/Metrics decorators", "logging/logger.py", "decorate"),
    ("resolver: event parsing, routing", "fire_trigger/app.py", "lambda_handler"),
    ("OpenAPI request validation middleware", "middlewares/openapi_validation.py", "handler"),
    ("OpenAPI response middleware", "middlewares/openapi_validation.py", "handler"),
    ("route body: logger.info, count, model_response", "fire_trigger/app.py", "fire_trigger"),
    ("fire_api_trigger: checks, overlay, log model, cache", "trigger_platform/firing.py", "fire_api_trigger"),
)
#: The two store calls inside fire_api_trigger, each one round trip.
STORE_CALLS = (
    ("PostgresTriggerStore.get: SELECT (1 round trip)", "adapters/trigger_store.py", "get"),
    ("PostgresLogStore.insert: INSERT + commit (1 round trip)", "adapters/log_store.py", "insert"),
)


def report_profile(stats: pstats.Stats) -> None:
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]

    def inclusive(file: str, name: str) -> list[float]:
        """Cumulative seconds of every profiled function called ``name`` in ``file``, largest first."""
        found = [e[3] for (path, _, fn), e in entries.items() if path.endswith(file) and fn == name]
        return sorted(found, reverse=True)

    handler = sum(inclusive(*LAYERS[0][1:])[:1])
    print(
        f"\ncProfile of {PROFILED:,} fires without a key: {handler / PROFILED * 1e6:.0f} µs a fire under the profiler"
    )
    print(f"{'µs a fire':>10}{'share':>7}  layer (own cost: inclusive time minus the layer inside it)")
    # The request validation middleware wraps the response one: same file and name, the larger first.
    seen: dict[tuple[str, str], int] = defaultdict(int)
    totals = []
    for _, file, name in LAYERS:
        found = inclusive(file, name)
        totals.append(found[seen[file, name]] if len(found) > seen[file, name] else float("nan"))
        seen[file, name] += 1
    stores = [sum(inclusive(file, name)[:1]) for _, file, name in STORE_CALLS]
    own = [outer - inner for outer, inner in zip(totals, [*totals[1:], sum(stores)], strict=True)]
    for (label, _, _), seconds in zip([*LAYERS, *STORE_CALLS], [*own, *stores], strict=True):
        print(f"{seconds / PROFILED * 1e6:>10.0f}{seconds / handler:>7.0%}  {label}")
    print(f"{'µs a fire':>10}{'cum µs':>8}{'calls':>8}  function (top {TOP_FUNCTIONS} by own time)")
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[:TOP_FUNCTIONS]
    for (path, line, name), (_, calls, tottime, cumtime, _) in ranked:
        where = f" {Path(path).parent.name}/{Path(path).name}:{line}" if path != "~" else ""
        print(f"{tottime / PROFILED * 1e6:>10.0f}{cumtime / PROFILED * 1e6:>8.0f}{calls // PROFILED:>8}  {name}{where}")


def main() -> None:
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    started = time.perf_counter()
    template = load_template(ROOT / "template.yaml")
    function = template.functions["FireTriggerFunction"]
    host = FunctionHost()
    with fresh_database() as url:
        result = measure(url, host, function)
    plain, keyed = result["plain"], result["keyed"]
    handler_fires = 2 * (WARMUP + ITERATIONS) + ITERATIONS + PROFILED
    expected = handler_fires + 5 * (WARMUP + ITERATIONS)  # and each bare INSERT, SQL replay and sketch wrote one
    print(
        f"POST /triggers/{{id}}/fire, FireTriggerFunction via FunctionHost.invoke, body {json.dumps(BODY)} over"
        f" payload {json.dumps(DEFINITION['payload'])}; {ITERATIONS:,} calls of each after {WARMUP} warm-up, in"
        f" turns; event_logs rows: {result['logged']:,} (expected {expected:,}, {handler_fires:,} by the handler)"
    )
    report_latency("no Idempotency-Key", plain, result["steps"], "plain")
    report_latency("a fresh Idempotency-Key each call", keyed, result["steps"], "keyed")
    median_s = statistics.median(plain["handler"]) / 1e9
    print(
        f"\nthroughput, no key: {1 / median_s:,.0f} fires/s by the median; {ITERATIONS:,} fires back to back in"
        f" {result['back_to_back_s']:.2f}s = {ITERATIONS / result['back_to_back_s']:,.0f} fires/s; in the"
        f" interleaved run {ITERATIONS / (sum(plain['handler']) / 1e9):,.0f} fires/s of handler time"
    )
    report_profile(result["stats"])
    print(f"\ntotal {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
