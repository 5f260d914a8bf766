"""The README's curl tour over HTTP, for every way the platform is served: sam local start-api
(tests/e2e/test_sam_local.py) and docker compose (tests/e2e/test_compose.py)."""

from tests.e2e.conftest import Reply, Runtime

SCHEDULED = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
API = {"type": "api", "payload": {"key": "value"}}
PROBLEM = "application/problem+json"


def explained(reply: Reply, api: Runtime) -> str:
    return f"{reply.status} {reply.raw[:500]!r}\n--- server log ---\n{api.log_path.read_text()[-3000:]}"


def walk_the_readme_tour(api: Runtime, token: str, location_base: str) -> None:
    """Create both kinds, list with the Link cursor, get, replace with If-Match, fire with an
    Idempotency-Key, both manual tests, logs, one log, aggregate, delete: on a tenant with no triggers
    yet. ``location_base`` is what a created trigger's Location starts with."""
    created = api.request("POST", "/triggers", API, token=token)
    assert created.status == 201, explained(created, api)
    assert created.headers["ETag"] == '"1"' and created.json["status"] == "created"
    api_id = created.json["id"]
    assert created.headers["Location"] == f"{location_base}/triggers/{api_id}"
    scheduled = api.request("POST", "/triggers", SCHEDULED, token=token)
    assert scheduled.status == 201, explained(scheduled, api)
    scheduled_id = scheduled.json["id"]
    assert scheduled.json["trigger"]["details"]["next_fire_at"]

    first_page = api.request("GET", "/triggers?limit=1", token=token)
    assert first_page.status == 200, explained(first_page, api)
    link = first_page.headers["Link"]
    assert link.startswith(f"<{api.base_url}/triggers?") and link.endswith('>; rel="next"'), link
    second_page = api.request("GET", link[len(api.base_url) + 1 : link.index(">")], token=token)
    assert [t["id"] for t in first_page.json + second_page.json] == [api_id, scheduled_id]

    got = api.request("GET", f"/triggers/{scheduled_id}", token=token)
    assert got.status == 200 and got.headers["ETag"] == '"1"', explained(got, api)
    replacement = {**SCHEDULED, "enabled": False}
    replaced = api.request("PUT", f"/triggers/{scheduled_id}", replacement, token=token, headers={"If-Match": '"1"'})
    assert replaced.status == 200, explained(replaced, api)
    assert (replaced.json["version"], replaced.json["enabled"]) == (2, False)
    stale = api.request("PUT", f"/triggers/{scheduled_id}", SCHEDULED, token=token, headers={"If-Match": '"1"'})
    assert stale.status == 412 and stale.headers["Content-Type"] == PROBLEM, explained(stale, api)

    once = {"Idempotency-Key": "order-42"}
    fired = api.request("POST", f"/triggers/{api_id}/fire", {"key": "other"}, token=token, headers=once)
    assert fired.status == 201 and fired.json["status"] == "fired", explained(fired, api)
    retried = api.request("POST", f"/triggers/{api_id}/fire", {"key": "other"}, token=token, headers=once)
    assert retried.json["id"] == fired.json["id"]
    misfit = api.request("POST", f"/triggers/{api_id}/fire", {"key": 5}, token=token)
    assert misfit.status == 422 and [e["field"] for e in misfit.json["errors"]] == ["key"], explained(misfit, api)

    unsaved = api.request("POST", "/triggers/test", API, token=token)
    assert unsaved.status == 201 and unsaved.json["status"] == "success", explained(unsaved, api)
    saved = api.request("POST", f"/triggers/{api_id}/test", token=token)
    assert saved.status == 201 and saved.json["status"] == "success", explained(saved, api)

    logs = api.request("GET", f"/logs?trigger_id={api_id}", token=token)
    assert logs.status == 200, explained(logs, api)
    assert sorted((log["source"], log["is_test"]) for log in logs.json) == [("api", False), ("test", True)]
    one = api.request("GET", f"/logs/{fired.json['id']}", token=token)
    assert one.status == 200 and one.json["payload"] == {"key": "other"}, explained(one, api)
    aggregate = api.request("GET", "/logs/aggregate", token=token)
    assert aggregate.status == 200, explained(aggregate, api)
    assert aggregate.json["totals"]["total"] == 3  # the fire and both manual tests
    assert aggregate.headers["X-Cache"] in ("hit", "miss", "bypass")

    deleted = api.request("DELETE", f"/triggers/{scheduled_id}", token=token)
    assert deleted.status == 204, explained(deleted, api)
    gone = api.request("GET", f"/triggers/{scheduled_id}", token=token)
    assert gone.status == 404 and gone.headers["Content-Type"] == PROBLEM, explained(gone, api)
