"""The local runtime started as a newcomer starts it (``python -m local``), driven over HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import ROOT, Tenant

#: The API_TOKEN of every runtime on the run's database: they are replicas of one deployment, and a
#: runtime started with another token would revoke the one before (as a changed API_TOKEN does).
SHARED_TOKEN = "etp_e2e-" + os.urandom(12).hex()

#: The session runtime's Redis database (the fault tests use 13, the integration tests 15).
RUNTIME_REDIS_DB = 11


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


class Runtime:
    """A running local runtime (its process group: the supervisor, gunicorn and its workers, the
    scheduler process) and a tiny HTTP client for it."""

    def __init__(
        self, process: subprocess.Popen[str], base_url: str, log_path: Path, token: str, timeout_s: float = 30
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.log_path = log_path
        self.token = token
        self.timeout_s = timeout_s

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL every process of the runtime at once, as a crash of its host or container does."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)  # noqa: S310 - loopback only
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:  # noqa: S310
                return Reply(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers.items()), error.read())


def start_runtime(env: dict[str, str], log_path: Path, timeout_s: float = 60) -> Runtime:
    """Start ``python -m local`` and wait for its banner, which ends with the token to use.
    Everything it prints afterwards (handler logs on stdout, request logs on stderr) goes to
    ``log_path``, drained continuously so a busy runtime never blocks on a full pipe."""
    port = free_port()
    # Tests drive a runtime harder than a tenant may: no rate limit unless a test sets one.
    unlimited = {"TENANT_RATE_LIMIT": "100000", "TENANT_RATE_BURST": "100000"}
    full_env = {**os.environ, "PORT": str(port), **unlimited, **env}
    log = log_path.open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "local"],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,  # a group of its own, so that kill() reaches all its processes
    )
    deadline = time.monotonic() + timeout_s
    token = ""
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.strip().startswith("Token:"):
            token = line.split(":", 1)[1].strip()
            break
    if not token:
        os.killpg(process.pid, signal.SIGKILL)
        raise RuntimeError(f"local runtime did not start: {log_path.read_text()[-3000:]}")
    threading.Thread(target=_drain, args=(process.stdout, log_path), daemon=True).start()
    return Runtime(process, f"http://127.0.0.1:{port}", log_path, token)


def _drain(stream: Any, log_path: Path) -> None:
    with log_path.open("a") as sink:
        for line in stream:
            sink.write(line)
            sink.flush()


def stop_runtime(runtime: Runtime) -> int:
    """SIGTERM, as a container stop sends it; the exit status (SIGKILL after 20 s: -9)."""
    runtime.process.terminate()
    try:
        return runtime.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        runtime.kill()
        return runtime.process.returncode


@pytest.fixture(scope="session")
def runtime(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """One local runtime on the run's database, with a known API_TOKEN for the default tenant, and
    Redis as self-hosting has it: each web worker's in-process cache would not see the logs the
    other processes write (up to 30 s stale, as Lambda instances without Redis)."""
    token = SHARED_TOKEN
    log_path = tmp_path_factory.mktemp("runtime") / "local.log"
    redis_server = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": token,
        "LOCAL_DATA_DIR": str(log_path.parent),
        "REDIS_URL": urlunsplit(redis_server._replace(path=f"/{RUNTIME_REDIS_DB}")),
    }
    # No target resolves (not even a literal address), so generated input never sends a delivery
    # anywhere; and this runtime delivers nothing, leaving the run's outbox to the delivery tests.
    started = start_runtime({**env, "DELIVERY_RESOLVER_TABLE": "none", "LOCAL_DELIVERY_WORKERS": "0"}, log_path)
    assert started.token == token
    yield started
    stop_runtime(started)


@pytest.fixture
def http_tenant(make_tenant: Any, runtime: Runtime) -> Tenant:
    """A fresh tenant, so tests do not see each other's triggers."""
    return make_tenant()  # type: ignore[no-any-return]
