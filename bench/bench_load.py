"""The self-hosted runtime under load, before and after 1,000,000 logs (issue 16).

``python -m local``, started as the end-to-end tests start it, on a database of its own with Redis;
locust (bench/locustfile.py: create, list, read, fire, list logs, aggregate; users wait 0.5-1.5 s
between requests), 50 users for 60 s, twice: on the empty database, then after 1,000,000 logs of
1,000 triggers of 10 tenants (the load's own tenant among them) fired over the last 48 h were
loaded. Requests/s, p50/p95/p99 and errors of each run; targets: p95 after the logs ≤ 1.5x the
empty run's, 0 errors. LOAD_SECONDS and LOAD_USERS shorten it for a trial. About 3 minutes here.
"""

import csv
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import (
    API_TRIGGER,
    REDIS_URL,
    ROOT,
    create_triggers,
    fresh_database,
    heading,
    load_logs,
    new_tenant,
    running_platform,
    show,
)

from tests.e2e.conftest import Runtime
from trigger_platform.edge import wiring
from trigger_platform.lifecycle import RETAINED_FOR

SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
USERS = int(os.environ.get("LOAD_USERS", "50"))
LOGS, TENANTS, TRIGGERS_PER_TENANT = 1_000_000, 10, 100
RECURRING_TRIGGER = {"type": "scheduled", "schedule": {"interval": 1, "unit": "hours", "is_recurring": True}}
P95_TARGET = 1.5
#: locust's CSV columns: what this report calls them, and how it writes them.
COLUMNS = {"Request Count": ("requests", ",.0f"), "Failure Count": ("failures", ",.0f"), "Requests/s": ("req/s", ".1f")}
COLUMNS |= {f"{p}%": (f"p{p} ms", ",.0f") for p in (50, 95, 99)}


def warm_up(runtime: Runtime) -> None:
    """Every route of the mix a few times, so the first run does not pay the handlers' cold starts."""
    for _ in range(3):
        created = runtime.request("POST", "/triggers", API_TRIGGER, token=runtime.token)
        assert created.status == 201, created.raw
        trigger = created.json["id"]
        for method, path, body in (
            ("GET", "/triggers?limit=50", None),
            ("GET", f"/triggers/{trigger}", None),
            ("POST", f"/triggers/{trigger}/fire", {"key": "other"}),
            ("GET", "/logs", None),
            ("GET", "/logs/aggregate", None),
        ):
            reply = runtime.request(method, path, body, token=runtime.token)
            assert 200 <= reply.status < 300, (method, path, reply.status, reply.raw[:300])


def run_locust(runtime: Runtime, work: Path, tag: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """One headless locust run of the mix: locust's statistics rows (the last one "Aggregated"), and
    its failures (each kind once, with its count)."""
    print(f"[{time.strftime('%H:%M:%S')}] {tag}: locust, {USERS} users for {SECONDS} s", flush=True)
    command = [
        *(str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"),
        *("-u", str(USERS), "-r", "10", "-t", f"{SECONDS}s", "-H", runtime.base_url),
        *("--csv", str(work / tag), "--only-summary", "--loglevel", "WARNING"),
    ]
    env = {**os.environ, "LOAD_TOKEN": runtime.token}
    with (work / f"{tag}.log").open("w") as output:
        # Our own venv's locust; exit status 1 means some requests failed, which the report shows.
        subprocess.run(command, env=env, stdout=output, stderr=subprocess.STDOUT, timeout=SECONDS + 120, check=False)  # noqa: S603
    with (work / f"{tag}_stats.csv").open() as stats, (work / f"{tag}_failures.csv").open() as failures:
        return list(csv.DictReader(stats)), list(csv.DictReader(failures))


def load_the_logs(url: str) -> float:
    """LOGS logs of the load tenant (``default``, the runtime's) and nine more, seconds it took."""
    started = time.perf_counter()
    load_tenant = wiring.token_store().tenant_named("default")
    assert load_tenant is not None, "the runtime registers API_TOKEN for the tenant 'default'"
    tenants = [load_tenant, *(new_tenant("load") for _ in range(TENANTS - 1))]
    made = [
        trigger
        for tenant in tenants
        for document in (API_TRIGGER, RECURRING_TRIGGER)
        for trigger in create_triggers(url, tenant, document, TRIGGERS_PER_TENANT // 2)
    ]
    now = datetime.now(UTC)
    load_logs(url, made, LOGS, now - RETAINED_FOR + timedelta(minutes=1), now)
    return time.perf_counter() - started


def show_run(label: str, rows: list[dict[str, str]], failures: list[dict[str, str]]) -> None:
    heading(label)
    print(f"  {'endpoint':<28}" + "".join(f"{name:>10}" for name, _ in COLUMNS.values()))
    for row in rows:
        print(f"  {row['Name']:<28}" + "".join(f"{float(row[c]):>10{shape}}" for c, (_, shape) in COLUMNS.items()))
    for failure in failures:
        print(f"  failed x{failure['Occurrences']}: {failure['Method']} {failure['Name']}: {failure['Error']}")


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="etp_bench_load_") as tmp, fresh_database(migrated=False) as url:
        work = Path(tmp)
        token = "etp_bench-" + os.urandom(12).hex()
        with running_platform(url, work / "runtime.log", API_TOKEN=token, REDIS_URL=REDIS_URL) as runtime:
            warm_up(runtime)
            empty, empty_failures = run_locust(runtime, work, "empty")
            print(f"[{time.strftime('%H:%M:%S')}] loading {LOGS:,} logs", flush=True)
            loaded_in = load_the_logs(url)
            full, full_failures = run_locust(runtime, work, "logs")
    show_run(f"run 1, empty database ({USERS} users, {SECONDS} s)", empty, empty_failures)
    show_run(f"run 2, after {LOGS:,} logs (loaded in {loaded_in:.0f} s)", full, full_failures)
    heading("targets")
    p95 = {name: float(rows[-1]["95%"]) for name, rows in (("empty", empty), ("logs", full))}
    ratio = p95["logs"] / p95["empty"]
    value = f"{p95['logs']:.0f} ms / {p95['empty']:.0f} ms = {ratio:.2f}x"
    show("p95 after the logs vs on the empty database", value, f"≤ {P95_TARGET:g}x", ratio <= P95_TARGET)
    errors = sum(int(rows[-1]["Failure Count"]) for rows in (empty, full))
    show("errors, both runs", f"{errors:,}", "0", errors == 0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (indicative: a shared 2-core machine, whose cores locust,")
    print("the runtime and PostgreSQL share)")


if __name__ == "__main__":
    main()
