"""`docker compose up` as the README self-hosts the platform: the repository's own compose file, built
and started with ``--wait`` under a project name of the test's own, the API on a free host port
(``API_PORT``), driven over HTTP: the README tour, the token the first start generated, a restart
that keeps the data and fires a trigger due after it exactly once, a changed API_TOKEN.

Skips, saying why, where no Docker engine answers (`../shared/containers/engine up` gives one here).
Every container, network, volume and image of the project goes with ``down -v``, whatever happens."""

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import Runtime, free_port
from tests.e2e.readme_tour import explained, walk_the_readme_tour
from tests.e2e.test_sam_local import engine_answers

COMPOSE_FILE = ROOT / "docker-compose.yml"
#: The image's LOCAL_DATA_DIR, the compose file's data volume.
TOKEN_PATH = "/var/lib/trigger-platform/token"
#: A one-time trigger is due this long after it is created, just before the restart: stopping,
#: removing and starting the stack again took 10-11 s here.
DUE_AFTER_S = 25
#: A first build without a cache installs the image lock (minutes on a slow network).
UP_TIMEOUT_S = 900
PRINTED_TOKEN = re.compile(r"^\s*Token: (\S+)$", re.MULTILINE)


class Stack:
    """One compose project of the repository's compose file, seen from the host."""

    def __init__(self, work: Path) -> None:
        self.project = f"etp-compose-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.work = work
        # compose reads .env beside the compose file: a developer's must not configure the test's stack.
        self.env_file = work / "empty.env"
        self.env_file.touch()
        self.log_path = work / "api.log"
        self._follower: subprocess.Popen[str] | None = None

    def _command(self, *args: str) -> list[str]:
        return [
            "docker",
            "compose",
            "-p",
            self.project,
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(self.env_file),
            *args,
        ]

    def _environment(self, **settings: str) -> dict[str, str]:
        """Only what Docker needs from this environment, so that the test run's own DATABASE_URL,
        API_TOKEN, ... never reach the stack; ``settings`` do."""
        kept = ("PATH", "HOME", "TMPDIR", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
        return {
            **{name: os.environ[name] for name in kept if name in os.environ},
            "API_PORT": str(self.port),
            **settings,
        }

    def compose(
        self, *args: str, timeout_s: float = 120, check: bool = True, settings: dict[str, str] | None = None
    ) -> str:
        """``docker compose ARGS``, with ``settings`` in the environment the compose file reads."""
        done = subprocess.run(  # noqa: S603
            self._command(*args),
            cwd=ROOT,
            env=self._environment(**(settings or {})),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert not check or done.returncode == 0, f"docker compose {' '.join(args)}:\n{done.stderr[-4000:]}"
        return done.stdout

    def up(self, *flags: str, **settings: str) -> None:
        """Up and healthy, and the API's logs followed into ``log_path`` (for failure messages)."""
        self.compose(
            "up", "--wait", "--wait-timeout", str(UP_TIMEOUT_S), *flags, timeout_s=UP_TIMEOUT_S, settings=settings
        )
        self._stop_following()
        with self.log_path.open("ab") as sink:
            self._follower = subprocess.Popen(  # noqa: S603
                self._command("logs", "--follow", "--no-color", "--no-log-prefix", "api"),
                cwd=ROOT,
                env=self._environment(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,  # a group of its own: see _stop_following
            )

    def _stop_following(self) -> None:
        """The docker CLI does not pass a signal on to the plugin it runs (compose here): both are
        signalled, as a terminal would signal its foreground group."""
        if self._follower is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._follower.pid, signal.SIGTERM)
            try:
                self._follower.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._follower.pid, signal.SIGKILL)
                self._follower.wait()
            self._follower = None

    def down(self) -> None:
        self._stop_following()
        self.compose("down", "-v", "--remove-orphans", "--rmi", "local", "--timeout", "30", check=False)

    def api_logs(self) -> str:
        """What the API container printed, every start of this container."""
        return self.compose("logs", "--no-color", "--no-log-prefix", "api")

    def token_kept(self) -> str:
        return self.compose("exec", "-T", "api", "cat", TOKEN_PATH).strip()

    def client(self, token: str) -> Runtime:
        assert self._follower is not None
        return Runtime(self._follower, f"http://127.0.0.1:{self.port}", self.log_path, token)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not engine_answers():
        pytest.skip("no Docker engine answers `docker info` (here: ../shared/containers/engine up)")
    stack = Stack(tmp_path_factory.mktemp("compose"))
    try:
        stack.up("--build")
        yield stack
    finally:
        stack.down()


def containers(stack: Stack) -> dict[str, dict[str, object]]:
    listed = [json.loads(line) for line in stack.compose("ps", "--all", "--format", "json").splitlines() if line]
    return {entry["Service"]: entry for entry in listed}


def test_only_the_api_is_published_on_the_host(stack: Stack) -> None:
    published = {
        service: sorted((p["URL"], p["PublishedPort"]) for p in entry["Publishers"] if p["PublishedPort"])  # type: ignore[attr-defined]
        for service, entry in containers(stack).items()
    }
    assert published == {"api": [("127.0.0.1", stack.port)], "postgres": [], "redis": []}


def test_redis_is_a_bounded_cache_that_keeps_nothing(stack: Stack) -> None:
    def setting(name: str) -> str:
        return stack.compose("exec", "-T", "redis", "redis-cli", "config", "get", name).split("\n")[1]

    assert int(setting("maxmemory")) > 0
    assert setting("maxmemory-policy") == "allkeys-lru"
    assert (setting("save"), setting("appendonly")) == ("", "no")


def test_the_readme_tour_answers_on_the_published_port(stack: Stack) -> None:
    api = stack.client(stack.token_kept())
    walk_the_readme_tour(api, api.token, location_base=api.base_url)


def test_links_say_https_behind_a_proxy_that_forwards_it(stack: Stack) -> None:
    api = stack.client(stack.token_kept())
    for _ in range(2):
        assert api.request("POST", "/triggers", {"type": "api", "payload": {"k": "v"}}, token=api.token).status == 201
    proxied = api.request("GET", "/triggers?limit=1", token=api.token, headers={"X-Forwarded-Proto": "https"})
    assert proxied.headers["Link"].startswith(f"<https://127.0.0.1:{stack.port}/triggers?"), explained(proxied, api)


def test_the_first_start_generated_a_token_kept_it_and_printed_it_once(stack: Stack) -> None:
    token = stack.token_kept()
    assert token.startswith("etp_") and len(token) == 47
    assert PRINTED_TOKEN.findall(stack.api_logs()) == [token]
    assert stack.client(token).request("GET", "/triggers", token=token).status == 200


def fired_logs(api: Runtime, trigger_id: str) -> list[dict[str, object]]:
    reply = api.request("GET", f"/logs?trigger_id={trigger_id}", token=api.token)
    assert reply.status == 200, explained(reply, api)
    return reply.json  # type: ignore[no-any-return]


def test_a_trigger_due_after_a_restart_fires_once_and_the_token_is_not_printed_again(stack: Stack) -> None:
    token = stack.token_kept()
    api = stack.client(token)
    schedule = {"interval": DUE_AFTER_S, "unit": "seconds", "is_recurring": False}
    created = api.request("POST", "/triggers", {"type": "scheduled", "schedule": schedule}, token=token)
    assert created.status == 201, explained(created, api)
    trigger_id, due = created.json["id"], created.json["trigger"]["details"]["next_fire_at"]

    stack.compose("stop", timeout_s=60)
    # SIGTERM inside the grace period: a clean exit, not Docker's SIGKILL (137) or a traceback.
    assert containers(stack)["api"]["ExitCode"] == 0
    assert "Traceback" not in stack.api_logs()
    stack.compose("down", timeout_s=60)  # without -v: the volumes stay
    stack.up()

    printed = stack.api_logs()
    assert "Token:" not in printed and f"the token in {TOKEN_PATH}" in printed
    api = stack.client(token)
    deadline = datetime.fromisoformat(due).timestamp() + 30
    while not fired_logs(api, trigger_id):
        assert time.time() < deadline, f"not fired by 30 s after its due time {due}\n{api.log_path.read_text()[-3000:]}"
        time.sleep(0.5)
    time.sleep(3)  # more than ten scheduler polls: a second fire would be logged by now
    logs = fired_logs(api, trigger_id)
    assert [(log["source"], log["scheduled_for"]) for log in logs] == [("scheduled", due)], logs


def status_with(stack: Stack, token: str) -> int:
    return stack.client(token).request("GET", "/triggers", token=token).status


def test_a_changed_api_token_revokes_the_generated_one_and_unsetting_it_restores_it(stack: Stack) -> None:
    generated = stack.token_kept()
    configured = "etp_" + secrets.token_urlsafe(32)
    stack.up(API_TOKEN=configured)  # a changed environment recreates the API container
    assert (status_with(stack, configured), status_with(stack, generated)) == (200, 401)
    assert configured not in stack.api_logs()
    stack.up()
    assert (status_with(stack, generated), status_with(stack, configured)) == (200, 401)
