"""The platform under faults, over HTTP: PostgreSQL and Redis going away mid-traffic and coming back."""

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime
from tests.faults import TcpProxy

API = {"type": "api", "payload": {"key": "value"}}
WEB_WORKERS = 2


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{proxy.port}"))


@pytest.fixture
def proxied(database_url: str, tmp_path: Path) -> Iterator[tuple[Runtime, TcpProxy, TcpProxy]]:
    """A runtime whose PostgreSQL and Redis connections both go through cuttable proxies."""
    parts = urlsplit(database_url)
    pg = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/13")
    redis_parts = urlsplit(redis_url)
    redis = TcpProxy(redis_parts.hostname or "127.0.0.1", redis_parts.port or 6379)
    env = {
        "DATABASE_URL": through(pg, database_url),
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}{redis_parts.path or '/13'}",
        "API_TOKEN": SHARED_TOKEN,
        "LOCAL_DATA_DIR": str(tmp_path),
        "DATABASE_CONNECT_TIMEOUT_S": "1",
        "WEB_CONCURRENCY": str(WEB_WORKERS),
    }
    runtime = start_runtime(env, tmp_path / "runtime.log")
    yield runtime, pg, redis
    stop_runtime(runtime)
    pg.close()
    redis.close()


def test_postgres_down_is_503_with_retry_after_and_recovers_without_a_restart(
    proxied: tuple[Runtime, TcpProxy, TcpProxy],
) -> None:
    runtime, pg, _ = proxied
    created = runtime.request("POST", "/triggers", API, token=runtime.token)
    assert created.status == 201
    pg.down()
    for method, path, body in (
        ("GET", "/triggers", None),
        ("POST", "/triggers", API),
        ("GET", f"/triggers/{created.json['id']}", None),
        ("POST", f"/triggers/{created.json['id']}/fire", {"key": "x"}),
        ("GET", "/logs", None),
    ):
        reply = runtime.request(method, path, body, token=runtime.token)
        assert reply.status == 503, (method, path, reply.raw)
        assert reply.headers.get("Retry-After")
        assert reply.json["status"] == 503
        text = reply.raw.decode()
        for leak in ("Traceback", "psycopg2", "SELECT", "INSERT", "postgresql://"):
            assert leak not in text, (leak, text)
    pg.up()
    again = runtime.request("GET", f"/triggers/{created.json['id']}", token=runtime.token)
    assert again.status == 200  # warm connections found dead and re-opened, nothing restarted


def test_health_is_200_without_a_token_and_503_problem_json_while_postgresql_is_down(
    proxied: tuple[Runtime, TcpProxy, TcpProxy],
) -> None:
    runtime, pg, _ = proxied
    healthy = runtime.request("GET", "/health")
    assert healthy.status == 200, healthy.raw
    assert healthy.json == {"status": "ok"}
    pg.down()
    down = runtime.request("GET", "/health")
    assert down.status == 503
    assert down.headers["Content-Type"] == "application/problem+json"
    assert down.json["status"] == 503 and down.headers.get("Retry-After")
    pg.up()
    assert runtime.request("GET", "/health").status == 200


def test_redis_down_or_hung_still_answers_every_read_with_bypass(
    proxied: tuple[Runtime, TcpProxy, TcpProxy],
) -> None:
    runtime, _, redis = proxied
    trigger_id = runtime.request("POST", "/triggers", API, token=runtime.token).json["id"]
    for outage in (redis.down, redis.silent):
        outage()
        accepted_before = redis.accepted
        for path in ("/logs", "/logs/aggregate", "/logs?state=active"):
            reply = runtime.request("GET", path, token=runtime.token)
            assert reply.status == 200 and reply.headers["X-Cache"] == "bypass", (path, reply.raw)
        before = runtime.request("GET", "/logs", token=runtime.token).json
        fired = runtime.request("POST", f"/triggers/{trigger_id}/fire", {"key": "y"}, token=runtime.token)
        assert fired.status == 201
        after = runtime.request("GET", "/logs", token=runtime.token).json
        # The new log tops the (possibly full) first page; the rest shift down by one.
        assert [log["id"] for log in after] == ([fired.json["id"]] + [log["id"] for log in before])[: len(after)]
        # After the first failure the cache and the rate limiter back off: no new connection per
        # request, at most one of each per web worker (each is a Lambda instance of its own).
        assert redis.accepted - accepted_before <= 2 * WEB_WORKERS
        redis.up()
