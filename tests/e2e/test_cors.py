"""CORS through the local runtime, over HTTP, as the template's ``Cors`` and gateway responses have
API Gateway answer: every route's preflight without a token, and every answer with the origin and
the headers a browser script may read. The browser itself: test_swagger_editor_try_it_out.py."""

import os
import subprocess
import sys
from pathlib import Path

from local.template import load_template
from tests.conftest import ROOT, Tenant
from tests.e2e.conftest import Reply, Runtime
from trigger_platform.edge.headers import EXPOSED_HEADERS

ORIGIN = "http://127.0.0.1:8081"  # where a page calling the API would come from
SCHEDULED = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}


def preflight(runtime: Runtime, path: str, method: str) -> Reply:
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization,content-type,if-match,idempotency-key",
    }
    return runtime.request("OPTIONS", path, headers=asked)


def concrete(path: str) -> str:
    return path.replace("{trigger_id}", "01a23576-9b55-7142-8b68-278f1768dfbe").replace("{log_id}", "no-such-log")


def readable_by_a_browser(reply: Reply) -> bool:
    return reply.headers.get("Access-Control-Allow-Origin") == "*" and set(
        reply.headers.get("Access-Control-Expose-Headers", "").split(",")
    ) == set(EXPOSED_HEADERS)


def test_every_route_answers_its_preflight_without_a_token_allowing_its_path_s_methods(runtime: Runtime) -> None:
    routes = load_template(ROOT / "template.yaml").routes
    for route in routes:
        answered = preflight(runtime, concrete(route.path), route.method)
        assert answered.status == 200, (route.path, answered.status, answered.raw)
        assert answered.headers["Access-Control-Allow-Origin"] == "*"
        methods = {other.method for other in routes if other.path == route.path} | {"OPTIONS"}
        assert answered.headers["Access-Control-Allow-Methods"] == ",".join(sorted(methods)), route.path
        assert answered.headers["Access-Control-Allow-Headers"] == "Authorization,Content-Type,If-Match,Idempotency-Key"
        assert answered.headers["Access-Control-Max-Age"] == "600"
        assert "Access-Control-Allow-Credentials" not in answered.headers
    # A literal segment is its own path, as on API Gateway: /triggers/test is not /triggers/{trigger_id}.
    assert preflight(runtime, "/triggers/test", "POST").headers["Access-Control-Allow-Methods"] == "OPTIONS,POST"


def test_a_path_with_no_route_has_no_preflight_but_its_404_is_readable(runtime: Runtime) -> None:
    answered = preflight(runtime, "/no/such/path", "GET")
    assert answered.status == 404
    assert answered.json["type"] == "urn:etp:problem:no-route"
    assert readable_by_a_browser(answered)


def test_handler_answers_carry_the_origin_and_expose_the_documented_headers(
    runtime: Runtime, http_tenant: Tenant
) -> None:
    origin = {"Origin": ORIGIN}
    created = runtime.request("POST", "/triggers", SCHEDULED, token=http_tenant.token, headers=origin)
    assert created.status == 201 and readable_by_a_browser(created), created.headers
    trigger, token = created.json["id"], http_tenant.token
    answers = [
        (runtime.request("GET", f"/triggers/{trigger}", token=token, headers=origin), 200),
        (runtime.request("POST", "/triggers", {"type": "nope"}, token=token, headers=origin), 422),
        (runtime.request("POST", "/triggers", raw=b" " * 100_000, token=token, headers=origin), 413),
        (runtime.request("DELETE", f"/triggers/{trigger}", token=token, headers=origin), 204),
        (runtime.request("GET", f"/triggers/{trigger}", token=token, headers=origin), 404),
    ]
    for reply, status in answers:
        assert reply.status == status, (status, reply.status, reply.raw)
        assert readable_by_a_browser(reply), (reply.status, reply.headers)


def test_gateway_answers_carry_the_origin_too(runtime: Runtime) -> None:
    """What API Gateway answers itself, from the template's gateway responses."""
    no_token = runtime.request("GET", "/triggers")
    bad_token = runtime.request("GET", "/triggers", token="etp_" + "x" * 43)
    for reply, status in ((no_token, 401), (bad_token, 401)):
        assert reply.status == status
        assert readable_by_a_browser(reply), (reply.status, reply.headers)


def test_the_runtime_refuses_an_allowed_origin_api_gateway_could_not_send(tmp_path: Path) -> None:
    """CORS_ALLOW_ORIGIN sets the template's CorsAllowOrigin, checked as CloudFormation checks it."""
    env = {**os.environ, "CORS_ALLOW_ORIGIN": "https://a.example, https://b.example", "LOCAL_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "refusing to start: parameter CorsAllowOrigin" in done.stderr
    assert not (tmp_path / "pgdata").exists()  # refused before anything started
