"""``python -m local``: start the platform on http://127.0.0.1:$PORT (default 3000).

Environment: DATABASE_URL (else an embedded PostgreSQL under .local/), API_TOKEN (registered as the
token of the ``default`` tenant; else a dev token is created once and kept in .local/dev-token), PORT,
LOCAL_DELIVERY_VISIBILITY_S (how long a received delivery stays hidden; the template's 180 s),
LOCAL_DELIVERY_WORKERS (concurrent delivery batches, default 8; 0 when another process delivers).
"""

import logging
import os
import signal
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from local.deliveries import DeliveryLoop
from local.scheduler import CronLoop, SchedulerLoop
from local.server import FunctionHost, LocalApi, make_server
from local.template import LocalTemplate, load_template
from trigger_platform.edge import wiring
from trigger_platform.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TENANT = "default"

log = logging.getLogger("local")


def _database_url(data_dir: Path) -> tuple[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url, None
    from local.embedded_postgres import start_embedded_postgres

    url, server = start_embedded_postgres(data_dir / "pgdata")
    os.environ["DATABASE_URL"] = url
    log.info("embedded PostgreSQL ready (data in %s)", data_dir / "pgdata")
    return url, server


def _token(data_dir: Path) -> str:
    """API_TOKEN if given, else the dev token kept from an earlier start, else a new one."""
    from trigger_platform.auth import create_tenant_with_token, issue_token

    token = os.environ.get("API_TOKEN")
    if not token:
        saved = data_dir / "dev-token"
        token = saved.read_text().strip() if saved.exists() else issue_token()
        saved.write_text(token + "\n")
        saved.chmod(0o600)
    create_tenant_with_token(DEFAULT_TENANT, tokens=wiring.token_store(), token=token)
    return token


def main() -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    log.setLevel(logging.INFO)
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    data_dir = Path(os.environ.get("LOCAL_DATA_DIR", PROJECT_ROOT / ".local"))
    data_dir.mkdir(parents=True, exist_ok=True)

    database_url, _embedded = _database_url(data_dir)
    from local.migrations import migrate_with_local_scheduler

    applied = migrate_with_local_scheduler(database_url)
    log.info("migrations: %s", ", ".join(applied) if applied else "database is up to date")
    token = _token(data_dir)

    template = load_template(PROJECT_ROOT / "template.yaml")
    functions = FunctionHost()
    server = make_server(LocalApi(template, functions), host, port)
    loops = _background_loops(template, functions)
    base = f"http://{host}:{server.server_address[1]}"

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"Event Trigger Platform (local runtime): {len(template.routes)} routes from template.yaml", flush=True)
    print(f"  API:   {base}", flush=True)
    if any(route.path == "/docs" for route in template.routes):
        print(f"  Docs:  {base}/docs", flush=True)
    print(f'  Try:   TOKEN=<the token below>; curl -H "Authorization: Bearer $TOKEN" {base}/triggers', flush=True)
    if get_settings().delivery_allow_private_networks:
        print("  Note:  DELIVERY_ALLOW_PRIVATE_NETWORKS=true: targets may be private or plain http (development only)")
    # The token is the banner's last line; nothing logged after it ever repeats it.
    print(f"  Token: {token}", flush=True)
    for loop in loops:
        loop.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        for loop in loops:
            loop.stop()
        server.server_close()
    return 0


def _background_loops(
    template: LocalTemplate, functions: FunctionHost
) -> list[SchedulerLoop | CronLoop | DeliveryLoop]:
    """What AWS runs beside the API: EventBridge Scheduler delivering to the fire function, the
    template's ScheduleV2 crons (log retention), and the SQS event source mapping of the delivery function."""
    from local.schedules import LocalScheduler
    from trigger_platform.adapters.partitions import LogPartitions
    from trigger_platform.adapters.postgres import Database
    from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork

    loops: list[SchedulerLoop | CronLoop | DeliveryLoop] = [
        CronLoop(functions, function, period) for function, period in template.crons
    ]
    visibility = timedelta(seconds=float(os.environ.get("LOCAL_DELIVERY_VISIBILITY_S", "180")))
    workers = int(os.environ.get("LOCAL_DELIVERY_WORKERS", "8"))
    loops += [
        DeliveryLoop(Database(wiring.database_url), function, batch_size, wiring.clock(), workers, visibility)
        for function, batch_size in template.queue_consumers
        if workers > 0
    ]
    if template.schedule_target is not None:
        # Its own connection (the handlers' one is in use by their invocations), so that a batch's
        # claim, logs and advance are one transaction of their own.
        db = Database(wiring.database_url)
        uow = PostgresUnitOfWork(db, LogPartitions(db), lambda: LocalScheduler(db))
        loops.append(SchedulerLoop(db, uow, wiring.cache(), wiring.clock()))
    return loops


if __name__ == "__main__":
    sys.exit(main())
