"""Security over HTTP: tenant isolation on every endpoint, token revocation, no secrets in logs,
and hostile input answered with 4xx problem+json while the data stays intact."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Tenant
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime

SEED_API = {"type": "api", "payload": {"key": "value"}}
SEED_SCHEDULED = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}


def owned_things(runtime: Runtime, owner: Tenant) -> dict[str, str]:
    api = runtime.request("POST", "/triggers", SEED_API, token=owner.token).json["id"]
    scheduled = runtime.request("POST", "/triggers", SEED_SCHEDULED, token=owner.token).json["id"]
    log = runtime.request("POST", f"/triggers/{api}/fire", {"key": "secret-ish"}, token=owner.token).json["id"]
    return {"api": api, "scheduled": scheduled, "log": log}


def snapshot(runtime: Runtime, owner: Tenant, things: dict[str, str]) -> Any:
    return (
        [runtime.request("GET", f"/triggers/{things[k]}", token=owner.token).json for k in ("api", "scheduled")],
        runtime.request("GET", "/logs/aggregate", token=owner.token).json["totals"],
    )


def test_another_tenant_gets_404_or_nothing_on_every_endpoint(runtime: Runtime, make_tenant: Any) -> None:
    owner, intruder = make_tenant(), make_tenant()
    things = owned_things(runtime, owner)
    before = snapshot(runtime, owner, things)
    api, scheduled, log = things["api"], things["scheduled"], things["log"]
    matrix = [
        ("GET", f"/triggers/{api}", None),
        ("GET", f"/triggers/{scheduled}", None),
        ("PUT", f"/triggers/{api}", SEED_SCHEDULED),
        ("PUT", f"/triggers/{scheduled}", SEED_API),
        ("DELETE", f"/triggers/{api}", None),
        ("DELETE", f"/triggers/{scheduled}", None),
        ("POST", f"/triggers/{api}/fire", {"key": "x"}),
        ("POST", f"/triggers/{api}/test", None),
        ("POST", f"/triggers/{scheduled}/test", None),
        ("GET", f"/logs/{log}", None),
    ]
    for method, path, body in matrix:
        reply = runtime.request(method, path, body, token=intruder.token)
        assert reply.status == 404, (method, path, reply.raw)
        assert api not in reply.raw.decode() and "secret-ish" not in reply.raw.decode()
    assert runtime.request("GET", "/triggers", token=intruder.token).json == []
    assert runtime.request("GET", f"/logs?trigger_id={api}", token=intruder.token).json == []
    assert runtime.request("GET", "/logs", token=intruder.token).json == []
    assert (
        runtime.request("GET", f"/logs/aggregate?trigger_id={api}", token=intruder.token).json["totals"]["total"] == 0
    )
    assert snapshot(runtime, owner, things) == before


def cli(database_url: str, *args: str, stdin: str = "") -> str:
    env = {**os.environ, "DATABASE_URL": database_url}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "trigger_platform.edge.cli", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_revoked_token_is_refused_on_the_next_request(runtime: Runtime, database_url: str) -> None:
    printed = cli(database_url, "create-tenant", f"revocable-{os.urandom(4).hex()}")
    token = printed.split("store it now): ")[1].strip()
    assert runtime.request("GET", "/triggers", token=token).status == 200
    assert "token revoked" in cli(database_url, "revoke-token", stdin=token + "\n")
    assert runtime.request("GET", "/triggers", token=token).status == 401


def test_tokens_payload_values_and_database_urls_never_reach_the_logs(database_url: str, tmp_path: Path) -> None:
    token = SHARED_TOKEN
    marker = "payload-marker-" + os.urandom(6).hex()
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": token,
        "LOCAL_DATA_DIR": str(tmp_path),
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
    }
    runtime = start_runtime(env, tmp_path / "runtime.log")
    try:
        trigger = runtime.request("POST", "/triggers", {"type": "api", "payload": {"key": marker}}, token=token).json[
            "id"
        ]
        runtime.request("POST", f"/triggers/{trigger}/fire", {"key": marker + "-fired"}, token=token)
        runtime.request("POST", "/triggers/test", {"type": "api", "payload": {"key": marker}}, token=token)
        runtime.request("GET", "/logs", token=token)
        runtime.request("GET", "/triggers", token="etp_wrong-" + marker)
        runtime.request("POST", "/triggers", raw=b"{broken " + marker.encode(), token=token)
    finally:
        stop_runtime(runtime)
    logged = runtime.log_path.read_text()
    assert "trigger created" in logged or "POST /triggers" in logged  # the capture did capture
    for secret in (token, marker, database_url, "etp_wrong-"):
        assert secret not in logged, secret


HOSTILE: list[tuple[str, str, bytes, dict[str, str]]] = [
    ("over-size body", "/triggers", b'{"type": "api", "payload": {"k": "' + b"x" * 70_000 + b'"}}', {}),
    ("deeply nested JSON", "/triggers", b"[" * 20_000 + b"]" * 20_000, {}),
    (
        "nested in payload",
        "/triggers",
        b'{"type": "api", "payload": {"a": ' + b'{"b": ' * 50 + b"1" + b"}" * 51 + b"}",
        {},
    ),
    ("huge number", "/triggers", b'{"type": "api", "payload": {"n": 1' + b"0" * 400 + b"}}", {}),
    ("endless number", "/triggers", b'{"type": "api", "payload": {"n": 1' + b"0" * 5000 + b"}}", {}),
    ("huge exponent", "/triggers", b'{"type": "api", "payload": {"n": 1e999}}', {}),
    ("invalid UTF-8", "/triggers", b'{"type": "api", "payload": {"k": "\xff\xfe"}}', {}),
    ("NUL byte", "/triggers", b'{"type": "api", "payload": {"k": "a\\u0000b"}}', {}),
    ("raw NUL", "/triggers", b'{"type": "api", "name": "a\x00b"}', {}),
    ("unknown content type", "/triggers", b'{"type": "api"}', {"Content-Type": "application/xml"}),
    ("form content type", "/triggers", b"type=api", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("duplicate keys", "/triggers", b'{"type": "api", "type": "scheduled"}', {}),
    (
        "10,000-key payload",
        "/triggers",
        ('{"type": "api", "payload": {' + ",".join(f'"k{i}": {i}' for i in range(10_000)) + "}}").encode(),
        {},
    ),
    ("SQL in a trigger id", "/triggers/1'%20OR%20'1'='1", b"", {}),
    ("path traversal id", "/triggers/..%2F..%2Fetc%2Fpasswd", b"", {}),
    ("SQL in a query", "/logs?trigger_id=1%27%3B%20DROP%20TABLE%20triggers%3B--", b"", {}),
    ("SQL in a cursor", "/triggers?cursor=%27%20OR%201%3D1--", b"", {}),
]


@pytest.mark.parametrize(("case", "path", "raw", "headers"), HOSTILE, ids=[case for case, *_ in HOSTILE])
def test_hostile_input_gets_4xx_problem_and_leaves_the_data_intact(
    runtime: Runtime, http_tenant: Tenant, case: str, path: str, raw: bytes, headers: dict[str, str]
) -> None:
    things = owned_things(runtime, http_tenant)
    before = snapshot(runtime, http_tenant, things)
    method = "POST" if raw else "GET"
    reply = runtime.request(method, path, token=http_tenant.token, raw=raw or None, headers=headers)
    assert 400 <= reply.status < 500, (case, reply.status, reply.raw[:300])
    assert reply.headers["Content-Type"] == "application/problem+json", case
    assert reply.json["status"] == reply.status
    assert snapshot(runtime, http_tenant, things) == before


def test_sql_metacharacters_in_payload_values_are_just_data(runtime: Runtime, http_tenant: Tenant) -> None:
    sneaky = "'; DROP TABLE triggers; --"
    created = runtime.request("POST", "/triggers", {"type": "api", "payload": {"key": sneaky}}, token=http_tenant.token)
    assert created.status == 201
    assert runtime.request("GET", f"/triggers/{created.json['id']}", token=http_tenant.token).json["payload"] == {
        "key": sneaky
    }


def test_a_short_api_token_is_refused_unless_the_runtime_listens_on_loopback_only(
    database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "API_TOKEN": "short-but-8+", "LOCAL_DATA_DIR": str(tmp_path)}
    refused = subprocess.run(
        [sys.executable, "-m", "local"],
        env={**env, "HOST": "0.0.0.0", "PORT": "0"},  # noqa: S104 - refused before it binds
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "API_TOKEN" in refused.stderr
