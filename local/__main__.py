"""``python -m local``: start the platform on http://127.0.0.1:$PORT (default 3000).

This process sets up (database, migrations, token), checks the port is free and supervises two others:
gunicorn with WEB_CONCURRENCY web workers (local/web.py, settings in local/gunicorn_conf.py) and
the scheduler process (local/background.py). SIGTERM or SIGINT, once or twice, stops them all
gracefully; if one of them dies, the other is stopped too and this process exits 1.

Environment: DATABASE_URL (else an embedded PostgreSQL under .local/), API_TOKEN (registered as the
token of the ``default`` tenant; else one generated once and kept in LOCAL_DATA_DIR: on loopback the
dev token, .local/dev-token, in every banner; beyond loopback ``token``, printed by its first start only), PORT,
HOST, WEB_CONCURRENCY (web worker processes; default: the CPU count), WEB_CONNECTIONS_PER_WORKER,
LOCAL_DATA_DIR, LOCAL_DELIVERY_VISIBILITY_S (how long a received delivery stays hidden; the template's 180 s),
LOCAL_DELIVERY_WORKERS (concurrent delivery batches, default 8; 0 when another process delivers),
CORS_ALLOW_ORIGIN (the template's CorsAllowOrigin: the origin browsers may call from; default "*").
"""

import ctypes
import http.client
import logging
import os
import signal
import socket
import subprocess  # nosec B404 - starts our own interpreter on our own modules
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from local.logs import configure_logging
from local.template import load_template, parameters_from
from trigger_platform.edge import wiring
from trigger_platform.errors import InvalidInput
from trigger_platform.settings import get_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TENANT = "default"
#: Where a generated token is kept in LOCAL_DATA_DIR: a developer's on loopback, else a deployment's.
DEV_TOKEN_FILE = "dev-token"  # noqa: S105  # nosec B105 - file names
TOKEN_FILE = "token"  # noqa: S105  # nosec B105
#: gunicorn's graceful_timeout (10 s), and a margin for its master to reap its workers.
STOP_TIMEOUT_S = 15
#: How long the web workers may take to boot (every function is imported in each) before giving up.
BOOT_TIMEOUT_S = 120
PR_SET_PDEATHSIG = 1
#: Where to reach a server bound to every address.
WILDCARD_PROBES = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104  # nosec B104 - compared, not bound
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})

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


def _token(data_dir: Path, host: str) -> tuple[str, Path | None]:
    """API_TOKEN if given, else the token kept from an earlier start, else a new one; made the
    default tenant's configured token (the one the previous start registered is revoked). A short
    API_TOKEN is refused unless the runtime listens on loopback only. Also returns, when this start
    generated the token, the file that keeps it."""
    from trigger_platform.auth import MIN_TOKEN_LENGTH, use_configured_token

    token = os.environ.get("API_TOKEN")
    generated = None
    if not token:
        kept = data_dir / (DEV_TOKEN_FILE if host in LOOPBACK else TOKEN_FILE)
        token, new = _kept_token(kept)
        generated = kept if new else None
    min_length = 8 if host in LOOPBACK else MIN_TOKEN_LENGTH
    use_configured_token(DEFAULT_TENANT, token, tokens=wiring.token_store(), min_length=min_length)
    return token, generated


def _kept_token(path: Path) -> tuple[str, bool]:
    """The token in ``path``, else a new one written there; whether it is new. Written whole under a
    name of its own, then linked into place: replicas starting together on one volume agree on one."""
    from trigger_platform.auth import issue_token

    if path.exists():
        return path.read_text().strip(), False
    token = issue_token()
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:  # another replica generated it first
        return path.read_text().strip(), False
    finally:
        os.unlink(draft)
    return token, True


def _token_line(token: str, host: str, data_dir: Path) -> str:
    """The banner's last line: the token on loopback (a developer's runtime); beyond it (a
    deployment, whose logs are kept and shipped) where the token is."""
    if host in LOOPBACK:
        return f"  Token: {token}"
    if os.environ.get("API_TOKEN"):
        return "  Auth:  the API_TOKEN of the environment (not printed)"
    return f"  Auth:  the token in {data_dir / TOKEN_FILE} (printed only by the start that generated it)"


def _stop_with_parent() -> None:
    """In the child before exec: SIGTERM it should this process die without stopping it (kill -9)."""
    if sys.platform == "linux":
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port(host: str, port: int) -> int:
    """``port`` if nothing listens there (or a free one for 0). Bound without SO_REUSEPORT, so that
    a runtime already on the port is an error here, not a silent partner of the new workers'."""
    with socket.create_server((host, port)) as probe:
        return int(probe.getsockname()[1])


def _start_children(port: int) -> dict[str, subprocess.Popen[bytes]]:
    commands = {
        "web": [sys.executable, "-m", "gunicorn", "--config", "python:local.gunicorn_conf", "local.web:app"],
        "scheduler": [sys.executable, "-m", "local.background"],
    }
    env = {**os.environ, "PORT": str(port)}
    if not env.get("REDIS_URL"):
        # Several processes serve the API; without Redis to share a cache, none may keep one of its
        # own (it would not see the others' new logs).
        env["CACHE_IN_PROCESS"] = "false"
    return {
        # preexec_fn is safe here: this process has started no thread yet.
        name: subprocess.Popen(  # noqa: S603  # nosec B603 - our own interpreter and modules
            command,
            cwd=PROJECT_ROOT,
            env=env,
            preexec_fn=_stop_with_parent,  # noqa: PLW1509
        )
        for name, command in commands.items()
    }


def _wait_until_serving(
    address: tuple[str, int], children: dict[str, subprocess.Popen[bytes]], stop: threading.Event
) -> bool:
    """Until a web worker answers GET /health (whatever the database says), so that the banner
    means "ready"; False if a child died or a stop came first."""
    host = WILDCARD_PROBES.get(address[0], address[0])
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children.values()):
            return False
        connection = http.client.HTTPConnection(host, address[1], timeout=5)
        try:
            connection.request("GET", "/health")
            connection.getresponse().read()
            return True
        except OSError:
            stop.wait(0.2)
        finally:
            connection.close()
    return False


def _supervise(children: dict[str, subprocess.Popen[bytes]], stop: threading.Event) -> int:
    """Wait for a stop signal or a child's death, then stop every child; 0 only for a clean stop."""
    while not stop.wait(0.5):
        died = [(name, child) for name, child in children.items() if child.poll() is not None]
        if died:
            log.error("the %s process exited with %s; stopping the runtime", died[0][0], died[0][1].returncode)
            break
    return _stop_children(children, clean=stop.is_set())


def _stop_children(children: dict[str, subprocess.Popen[bytes]], clean: bool) -> int:
    """SIGTERM every child still running (SIGKILL after STOP_TIMEOUT_S); 0 if ``clean`` and each exited 0."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for name, child in children.items():
        try:
            child.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.error("the %s process did not stop in %d s; killing it", name, STOP_TIMEOUT_S)
            child.kill()
            child.wait()
    return 0 if clean and all(child.returncode == 0 for child in children.values()) else 1


def main() -> int:
    configure_logging()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "3000"))
    data_dir = Path(os.environ.get("LOCAL_DATA_DIR", PROJECT_ROOT / ".local"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        template = load_template(PROJECT_ROOT / "template.yaml", parameters_from(os.environ))
    except ValueError as refused:
        print(f"refusing to start: {refused}", file=sys.stderr)
        return 2

    database_url, _embedded = _database_url(data_dir)
    from local.migrations import migrate_with_local_scheduler

    applied = migrate_with_local_scheduler(database_url)
    log.info("migrations: %s", ", ".join(applied) if applied else "database is up to date")
    try:
        token, generated = _token(data_dir, host)
    except InvalidInput as refused:
        print(f"refusing to start: {refused.errors[0].field} {refused.errors[0].message}", file=sys.stderr)
        return 2
    if generated and host not in LOOPBACK:
        # At once, not in the banner: should this first start fail later, the token was still shown.
        print(f"A token was generated for this deployment and kept in {generated}; printed this once:", flush=True)
        print(f"  Token: {token}", flush=True)

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()  # make forwards SIGTERM, so it may come twice: the second changes nothing

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        port = _free_port(host, port)
    except OSError as error:
        log.error("cannot listen on %s:%s: %s", host, port, error.strerror)
        return 1
    children = _start_children(port)
    base = f"http://{host}:{port}"
    if not _wait_until_serving((host, port), children, stop):
        if not stop.is_set():
            log.error("the web workers did not start serving")
        return _stop_children(children, clean=stop.is_set())
    print(f"Event Trigger Platform (local runtime): {len(template.routes)} routes from template.yaml", flush=True)
    print(f"  API:   {base}  (health: {base}/health)", flush=True)
    if any(route.path == "/docs" for route in template.routes):
        print(f"  Docs:  {base}/docs", flush=True)
    print(f'  Try:   TOKEN=<the token>; curl -H "Authorization: Bearer $TOKEN" {base}/triggers', flush=True)
    if get_settings().delivery_allow_private_networks:
        print("  Note:  DELIVERY_ALLOW_PRIVATE_NETWORKS=true: targets may be private or plain http (development only)")
    # The token, where printed, is the banner's last line; nothing logged after it ever repeats it.
    print(_token_line(token, host, data_dir), flush=True)
    status = _supervise(children, stop)
    log.info("stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
