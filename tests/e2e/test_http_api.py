"""The trigger API over HTTP through the local runtime, with exactly the seed's bodies."""

from typing import Any

from tests.conftest import Tenant
from tests.e2e.conftest import Runtime

SEED_SCHEDULED = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
SEED_API = {"type": "api", "payload": {"key": "value"}}


def test_seed_bodies_create_triggers_with_the_printed_token(runtime: Runtime) -> None:
    for body in (SEED_SCHEDULED, SEED_API):
        reply = runtime.request("POST", "/triggers", body, token=runtime.token)
        assert reply.status == 201, reply.raw
        assert reply.json["status"] == "created"
        assert reply.json["id"]
        assert reply.headers["Content-Type"] == "application/json"


def test_crud_round_trip(runtime: Runtime, http_tenant: Tenant) -> None:
    token = http_tenant.token
    trigger_id = runtime.request("POST", "/triggers", SEED_API, token=token).json["id"]

    listed = runtime.request("GET", "/triggers", token=token)
    assert listed.status == 200
    assert [t["id"] for t in listed.json] == [trigger_id]
    assert {"id", "type", "details", "created_at"} <= set(listed.json[0])

    got = runtime.request("GET", f"/triggers/{trigger_id}", token=token)
    assert got.status == 200 and got.headers["ETag"] == '"1"'

    replaced = runtime.request(
        "PUT", f"/triggers/{trigger_id}", SEED_SCHEDULED, token=token, headers={"If-Match": '"1"'}
    )
    assert replaced.status == 200
    assert replaced.json["type"] == "scheduled" and replaced.json["version"] == 2

    stale = runtime.request("PUT", f"/triggers/{trigger_id}", SEED_API, token=token, headers={"If-Match": '"1"'})
    assert stale.status == 412
    assert stale.headers["Content-Type"] == "application/problem+json"

    assert runtime.request("DELETE", f"/triggers/{trigger_id}", token=token).status == 204
    assert runtime.request("DELETE", f"/triggers/{trigger_id}", token=token).status == 404
    assert runtime.request("GET", f"/triggers/{trigger_id}", token=token).status == 404


def test_pagination_follows_the_link_header(runtime: Runtime, http_tenant: Tenant) -> None:
    created = [runtime.request("POST", "/triggers", SEED_API, token=http_tenant.token).json["id"] for _ in range(5)]
    seen: list[str] = []
    path = "/triggers?limit=2"
    while path:
        reply = runtime.request("GET", path, token=http_tenant.token)
        seen += [t["id"] for t in reply.json]
        link = reply.headers.get("Link")
        path = link[link.index(runtime.base_url) + len(runtime.base_url) : link.index(">")] if link else ""
    assert seen == created


def test_links_say_https_when_a_trusted_proxy_forwards_it(runtime: Runtime, http_tenant: Tenant) -> None:
    """A TLS-terminating proxy on this host (gunicorn's FORWARDED_ALLOW_IPS: loopback by default)."""
    for _ in range(2):
        runtime.request("POST", "/triggers", SEED_API, token=http_tenant.token)
    links = {
        proto: runtime.request("GET", "/triggers?limit=1", token=http_tenant.token, headers=forwarded).headers["Link"]
        for proto, forwarded in (("https", {"X-Forwarded-Proto": "https"}), ("http", {}))
    }
    host = runtime.base_url.removeprefix("http://")
    assert all(link.startswith(f"<{proto}://{host}/triggers?") for proto, link in links.items()), links


def test_a_second_tenant_sees_nothing_of_the_first(runtime: Runtime, make_tenant: Any) -> None:
    first, second = make_tenant(), make_tenant()
    trigger_id = runtime.request("POST", "/triggers", SEED_API, token=first.token).json["id"]
    assert runtime.request("GET", "/triggers", token=second.token).json == []
    for method, body in (("GET", None), ("PUT", SEED_SCHEDULED), ("DELETE", None)):
        reply = runtime.request(method, f"/triggers/{trigger_id}", body, token=second.token)
        assert reply.status == 404, (method, reply.raw)
    assert runtime.request("GET", f"/triggers/{trigger_id}", token=first.token).json["version"] == 1


def test_missing_and_bad_tokens_get_401_problem(runtime: Runtime) -> None:
    for token in (None, "etp_wrong"):
        reply = runtime.request("GET", "/triggers", token=token)
        assert reply.status == 401
        assert reply.json["status"] == 401


def test_validation_errors_name_the_field(runtime: Runtime) -> None:
    bad = {"type": "scheduled", "schedule": {"interval": 30, "unit": "fortnights"}}
    reply = runtime.request("POST", "/triggers", bad, token=runtime.token)
    assert reply.status == 422
    assert reply.headers["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in reply.json["errors"]] == ["schedule.unit"]


def test_non_json_and_oversize_bodies_are_4xx_not_500(runtime: Runtime) -> None:
    assert runtime.request("POST", "/triggers", raw=b"{nope", token=runtime.token).status == 400
    assert runtime.request("POST", "/triggers", raw=b"\xff\xfe\x00", token=runtime.token).status == 400
    huge = b'{"type": "api", "payload": {"k": "' + b"x" * (65 * 1024) + b'"}}'
    assert runtime.request("POST", "/triggers", raw=huge, token=runtime.token).status == 413


def test_unknown_routes_are_404_problem(runtime: Runtime) -> None:
    reply = runtime.request("GET", "/nowhere", token=runtime.token)
    assert reply.status == 404
    assert reply.json["status"] == 404
