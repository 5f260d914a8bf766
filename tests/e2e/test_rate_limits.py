"""Per-tenant rate limits of the self-hosted runtime, shared by its web workers through Redis: a
tenant over its rate gets 429 problem+json with Retry-After and the RateLimit headers, and another
tenant is not affected."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime

RATE, BURST = 1, 4


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": SHARED_TOKEN,
        "LOCAL_DATA_DIR": str(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:6379/10",
        "TENANT_RATE_LIMIT": str(RATE),
        "TENANT_RATE_BURST": str(BURST),
        "WEB_CONCURRENCY": "2",
    }
    runtime = start_runtime(env, tmp_path / "runtime.log")
    yield runtime
    stop_runtime(runtime)


def test_a_tenant_over_its_rate_gets_429_and_another_tenant_does_not(limited: Runtime, make_tenant: Any) -> None:
    noisy, quiet = make_tenant(), make_tenant()
    replies = [limited.request("GET", "/triggers", token=noisy.token) for _ in range(BURST + 4)]
    statuses = [reply.status for reply in replies]
    # Shared by both workers: the burst, and at most a refill or two during the run, get through.
    assert BURST <= statuses.count(200) <= BURST + 2, statuses
    refused = next(reply for reply in replies if reply.status == 429)
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["type"] == "urn:etp:problem:rate-limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Policy"] == f'"tenant";q={BURST};w={BURST // RATE}'
    assert refused.headers["RateLimit"].startswith('"tenant";r=0;')
    assert limited.request("GET", "/triggers", token=quiet.token).status == 200


def test_strangers_are_refused_before_any_rate_is_spent(limited: Runtime, make_tenant: Any) -> None:
    tenant: Tenant = make_tenant()
    for _ in range(BURST * 2):
        assert limited.request("GET", "/triggers", token="etp_" + "x" * 43).status == 401
    assert limited.request("GET", "/triggers", token=tenant.token).status == 200
