"""The self-hosted image, built as `docker build .` builds it: the image lock and the runtime only,
an unprivileged user, a healthcheck, and it serves the API against a PostgreSQL container.

Skips, saying why, where no Docker engine answers (`../shared/containers/engine up` gives one here)."""

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable

import pytest
from packaging.markers import Marker

from tests.conftest import ROOT
from tests.unit.test_locks import LOCKS, requirements

BASE_IMAGE = "python:3.14-slim"
IMAGE_TAG = "trigger-platform:e2e"
#: What the image may add to its base: the official python:3.14-slim is about 120 MB, the target 250 MB.
ADDED_BYTES_BUDGET = 100 * 1024 * 1024
DOCKER = shutil.which("docker")


def docker(*arguments: str, timeout: float = 120) -> str:
    assert DOCKER
    done = subprocess.run(  # noqa: S603 - our own arguments
        [DOCKER, *arguments], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(arguments)}: {done.stderr[-2000:]}"
    return done.stdout.strip()


def _engine_answers() -> bool:
    if DOCKER is None:
        return False
    try:
        return subprocess.run([DOCKER, "info"], capture_output=True, timeout=20, check=False).returncode == 0  # noqa: S603
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="module")
def image() -> str:
    if not _engine_answers():
        pytest.skip("no Docker engine answers `docker info` (here: ../shared/containers/engine up)")
    # One tag, kept: the next build reuses its layers (as `docker compose up --build` does).
    docker("build", "-q", "-t", IMAGE_TAG, str(ROOT), timeout=900)
    return IMAGE_TAG


def run_in(image: str, *command: str) -> str:
    return docker("run", "--rm", "--entrypoint", command[0], image, *command[1:])


def test_the_image_runs_as_an_unprivileged_user_and_checks_its_health(image: str) -> None:
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert config["User"] not in ("", "root", "0")
    assert run_in(image, "id", "-u") != "0"
    assert "'http://127.0.0.1:' + os.environ['PORT'] + '/health'" in " ".join(config["Healthcheck"]["Test"])
    assert config["Cmd"] == ["python", "-m", "local"]


def test_the_image_holds_the_runtime_and_nothing_else_of_the_work_tree(image: str) -> None:
    assert set(run_in(image, "ls", "-A", "/app").split()) == {"template.yaml", "functions", "layers", "local"}
    assert run_in(image, "ls", "-A", "/app/layers").split() == ["core"]
    assert run_in(image, "ls", "-A", "/app/layers/core").split() == ["trigger_platform"]


def test_the_image_installs_exactly_its_lock(image: str) -> None:
    listing = (
        "import importlib.metadata as m, json, platform;"
        "print(json.dumps([platform.python_version(), {d.name.lower(): d.version for d in m.distributions()}]))"
    )
    python_version, installed = json.loads(run_in(image, "python", "-c", listing))
    environment = {"python_full_version": python_version, "python_version": python_version.rsplit(".", 1)[0]}
    expected = {}
    for name, entry in requirements(LOCKS["image"]).items():
        pin = entry.split("\\", 1)[0].strip()
        requirement, _, marker = pin.partition(";")
        if not marker or Marker(marker.strip()).evaluate(environment):
            expected[name] = requirement.split("==", 1)[1].strip()
    assert {name.replace("_", "-"): version for name, version in installed.items()} == expected


def test_what_the_image_adds_to_its_base_stays_small(image: str) -> None:
    size = int(docker("image", "inspect", "-f", "{{.Size}}", image))
    base = int(docker("image", "inspect", "-f", "{{.Size}}", BASE_IMAGE))
    assert size - base <= ADDED_BYTES_BUDGET, f"the image adds {(size - base) / 2**20:.0f} MiB to {BASE_IMAGE}"


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - a container of this machine
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310  # nosec B310
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _wait_for(ready: Callable[[], bool], what: str, within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while not ready():
        assert time.monotonic() < deadline, f"{what} not ready within {within_s:.0f} s"
        time.sleep(0.5)


def test_the_image_serves_the_api_against_a_postgres_container(image: str) -> None:
    name = f"etp-image-test-{uuid.uuid4().hex[:8]}"
    token = f"etp_{uuid.uuid4().hex}"
    docker("network", "create", name)
    try:
        docker("run", "-d", "--name", f"{name}-pg", "--network", name, "-e", "POSTGRES_PASSWORD=pw", "postgres:16")
        _wait_for(lambda: _succeeds("exec", f"{name}-pg", "pg_isready", "-U", "postgres"), "PostgreSQL")
        docker(
            "run", "-d", "--name", f"{name}-api", "--network", name, "-e", f"API_TOKEN={token}",
            "-e", f"DATABASE_URL=postgresql://postgres:pw@{name}-pg:5432/postgres", image,
        )  # fmt: skip
        address = docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", f"{name}-api")
        _wait_for(lambda: _answers(f"http://{address}:3000/docs"), "the runtime")
        assert _get(f"http://{address}:3000/triggers", token) == (200, b"[]")
        assert _get(f"http://{address}:3000/triggers")[0] == 401
    finally:
        docker("rm", "-f", f"{name}-api", f"{name}-pg")
        docker("network", "rm", name)


def _succeeds(*arguments: str) -> bool:
    assert DOCKER
    return subprocess.run([DOCKER, *arguments], capture_output=True, timeout=30, check=False).returncode == 0  # noqa: S603


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False
