"""`sam build`, `sam local start-api` and `sam local invoke` run for real, as the README's section
"sam local start-api" says: SAM's Lambda containers on a Docker network of the test's own, next to
a PostgreSQL container that the project's CLI migrates and gives a tenant.

Where SAM does not play API Gateway (the template's gateway responses), the tests assert what SAM
answers and say what AWS answers instead. Skipped, saying why, where no Docker engine answers.
"""

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.conftest import ROOT, Tenant, api_event, load_event
from tests.e2e.conftest import Runtime, free_port
from tests.e2e.readme_tour import SCHEDULED, explained, walk_the_readme_tour

# Without it SAM asks the registry before each container start (and fails where none answers);
# Docker still pulls a missing image.
SKIP_PULL = "--skip-pull-image"


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)  # noqa: S603, S607
    if check and done.returncode:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def engine_answers() -> bool:
    try:
        docker("info")
    except (OSError, RuntimeError, subprocess.TimeoutExpired):
        return False
    return True


def sam_environment() -> dict[str, str]:
    """SAM hands a declared variable its value from SAM's own environment when --env-vars does not
    set it, so SAM gets a bare environment: the test's DATABASE_URL or REDIS_URL must not leak in."""
    kept = ("PATH", "HOME", "TMPDIR", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
    return {
        **{name: os.environ[name] for name in kept if name in os.environ},
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
    }


@dataclass
class Sam:
    cli: str

    def run(self, *args: str, timeout_s: float = 600) -> str:
        command = [self.cli, *args]
        done = subprocess.run(  # noqa: S603
            command, cwd=ROOT, env=sam_environment(), capture_output=True, text=True, timeout=timeout_s, check=False
        )
        assert done.returncode == 0, f"sam {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        return done.stdout


@dataclass
class Database:
    network: str
    host_url: str  # how this test reaches it: published on loopback
    lambda_url: str  # how the Lambda containers reach it: by container name on the network


def sam_cli() -> str | None:
    """The project's SAM CLI (.venv-sam), else one on PATH."""
    cli = ROOT / ".venv-sam" / "bin" / "sam"
    return str(cli) if cli.exists() else shutil.which("sam")


@pytest.fixture(scope="module")
def sam() -> Sam:
    if not engine_answers():
        pytest.skip("no Docker engine answers `docker info` (sam local needs one; see README)")
    found = sam_cli()
    if found is None:
        pytest.skip("the AWS SAM CLI is not installed: `make deploy-check` installs it in .venv-sam")
    return Sam(found)


@contextmanager
def docker_network(prefix: str) -> Iterator[str]:
    """A Docker network of the caller's own; whatever is on it at the end goes with it."""
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    docker("network", "create", name)
    try:
        yield name
    finally:
        # SAM's containers (warm ones after a crash, an invoke cut short) are all on this network.
        leftovers = docker("ps", "-aq", "--filter", f"network={name}", check=False).split()
        if leftovers:
            docker("rm", "-f", "-v", *leftovers, check=False)
        docker("network", "rm", name, check=False)


@pytest.fixture(scope="module")
def network(sam: Sam) -> Iterator[str]:
    with docker_network("etp-sam") as name:
        yield name


def cli(database_url: str, *args: str) -> str:
    """The project's own CLI, as the README runs it against a database."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "trigger_platform.edge.cli", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@contextmanager
def postgres_on(network: str) -> Iterator[Database]:
    """postgres:16 on the network, migrated with the project's migrations; removed at the end."""
    name = f"{network}-postgres"
    docker(
        "run", "-d", "--name", name, "--network", network, "-p", "127.0.0.1::5432",
        "-e", "POSTGRES_PASSWORD=postgres", "-e", "POSTGRES_DB=triggers", "postgres:16",
    )  # fmt: skip
    try:
        port = docker("port", name, "5432/tcp").splitlines()[0].rsplit(":", 1)[1]
        host_url = f"postgresql://postgres:postgres@127.0.0.1:{port}/triggers"
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg2.connect(host_url, connect_timeout=2).close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        cli(host_url, "migrate")
        yield Database(network, host_url, f"postgresql://postgres:postgres@{name}:5432/triggers")
    finally:
        docker("rm", "-f", "-v", name, check=False)


@pytest.fixture(scope="module")
def database(network: str) -> Iterator[Database]:
    with postgres_on(network) as database:
        yield database


def create_tenant(database: Database, prefix: str = "sam") -> Tenant:
    """A tenant made as the README makes one."""
    printed = cli(database.host_url, "create-tenant", f"{prefix}-{uuid.uuid4().hex[:8]}")
    tenant_id = re.search(r"^tenant \S+ \(([0-9a-f-]{36})\)$", printed, re.MULTILINE)
    token = re.search(r"^token .*: (\S+)$", printed, re.MULTILINE)
    assert tenant_id and token, printed
    return Tenant(uuid.UUID(tenant_id[1]), token[1])


@pytest.fixture
def tenant(database: Database) -> Tenant:
    """A tenant of each test's own."""
    return create_tenant(database)


@pytest.fixture(scope="module")
def built(sam: Sam, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` into a directory of this test's own; returns the built template."""
    build_dir = tmp_path_factory.mktemp("sam-build")
    sam.run("build", "--build-dir", str(build_dir))
    return build_dir / "template.yaml"


def write_env_vars(database: Database, path: Path) -> Path:
    """The README's env.json: the database by name, no scheduler to arm schedules (no EventBridge
    Scheduler here), no EMF metrics in the output."""
    variables = {
        "DATABASE_URL": database.lambda_url,
        "SCHEDULER_BACKEND": "none",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    path.write_text(json.dumps({"Parameters": variables}))
    return path


@pytest.fixture(scope="module")
def env_vars(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_env_vars(database, tmp_path_factory.mktemp("sam-env") / "env.json")


@pytest.fixture(scope="module")
def api(
    sam: Sam, built: Path, env_vars: Path, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Runtime]:
    """`sam local start-api` with warm containers started on first use (LAZY: each function
    pays its container start once, then answers in well under a second)."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("sam-api") / "sam.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603
            [
                sam.cli, "local", "start-api", "-t", str(built), "--env-vars", str(env_vars),
                "--docker-network", database.network, "--warm-containers", "LAZY", "--port", str(port), SKIP_PULL,
            ],
            cwd=ROOT, env=sam_environment(), stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while f"Running on http://127.0.0.1:{port}" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.2)
        # A first call per function starts its container (6-14 s measured, more on a busy machine).
        yield Runtime(process, f"http://127.0.0.1:{port}", log_path, token="", timeout_s=180)
    finally:
        process.terminate()  # SAM stops its warm containers on SIGTERM (SIGINT may be ignored in CI)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_readme_tour_answers_as_on_aws(api: Runtime, tenant: Tenant) -> None:
    walk_the_readme_tour(api, tenant.token, location_base=api.base_url)  # sam local serves no stage prefix


def test_the_docs_answer_without_a_token(api: Runtime) -> None:
    page = api.request("GET", "/docs")
    assert page.status == 200 and "swagger-ui" in page.raw.decode(), explained(page, api)
    document = api.request("GET", "/openapi.json")
    assert document.status == 200 and "/triggers" in document.json["paths"], explained(document, api)


def test_sam_answers_missing_tokens_bad_tokens_and_unknown_routes_itself(api: Runtime, tenant: Tenant) -> None:
    """SAM does not apply the template's GatewayResponses; on AWS these four are problem+json:
    401 (no token), 401 (a token of the wrong shape), 401 (a token the authorizer refuses), 404 (no
    such route)."""
    unauthorized = (401, {"message": "Unauthorized"})
    missing = api.request("GET", "/triggers")
    assert (missing.status, missing.json) == unauthorized, explained(missing, api)
    # The authorizer's ValidationExpression refuses it before the authorizer runs, as on AWS.
    malformed = api.request("GET", "/triggers", token="etp_not-a-token")
    assert (malformed.status, malformed.json) == unauthorized, explained(malformed, api)
    # The authorizer raises "Unauthorized", which API Gateway maps to 401; SAM sees a failed invoke.
    refused = api.request("GET", "/triggers", token="etp_" + "A" * 43)
    assert (refused.status, refused.json) == (502, {"message": "Internal server error"}), explained(refused, api)
    unknown = api.request("GET", "/nowhere", token=tenant.token)
    assert (unknown.status, unknown.json) == (403, {"message": "Missing Authentication Token"}), explained(unknown, api)


def invoke(
    sam: Sam, built: Path, env_vars: Path, network: str, function: str, event: dict[str, Any], *, work: Path
) -> Any:
    """`sam local invoke FUNCTION -e EVENT`; SAM prints the function's result on stdout."""
    event_path = work / f"{function}.json"
    event_path.write_text(json.dumps(event))
    printed = sam.run(
        "local", "invoke", function, "-t", str(built), "-e", str(event_path),
        "--env-vars", str(env_vars), "--docker-network", network, SKIP_PULL,
    )  # fmt: skip
    return json.loads(printed.strip().splitlines()[-1])


def test_sam_local_invoke_runs_the_sample_events(
    sam: Sam, built: Path, env_vars: Path, database: Database, api: Runtime, tenant: Tenant, tmp_path: Path
) -> None:
    """The files in events/, addressed to this test's tenant and triggers (their ids are examples)."""
    run = functools.partial(invoke, sam, built, env_vars, database.network, work=tmp_path)

    authorizer_event = {**load_event("authorizer-token"), "authorizationToken": f"Bearer {tenant.token}"}
    policy = run("AuthorizerFunction", authorizer_event)
    assert policy["principalId"] == str(tenant.id) and policy["context"] == {"tenant_id": str(tenant.id)}
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"

    created = api.request("POST", "/triggers", SCHEDULED, token=tenant.token)
    assert created.status == 201, explained(created, api)
    trigger = created.json["trigger"]
    got = run("GetTriggerFunction", api_event("get_trigger", tenant, trigger_id=trigger["id"]))
    assert got["statusCode"] == 200 and json.loads(got["body"])["id"] == trigger["id"]

    # What EventBridge Scheduler would deliver at the trigger's due time (nothing does under sam local).
    due = {
        **load_event("fire_scheduled-due"),
        "trigger_id": trigger["id"],
        "tenant_id": str(tenant.id),
        "version": trigger["version"],
        "scheduled_time": trigger["details"]["next_fire_at"],
    }
    fired = run("FireScheduledFunction", due)
    assert fired["status"] == "fired", fired
    log = api.request("GET", f"/logs/{fired['log_id']}", token=tenant.token)
    assert log.status == 200 and (log.json["source"], log.json["trigger_id"]) == ("scheduled", trigger["id"])
