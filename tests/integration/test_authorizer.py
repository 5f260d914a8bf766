"""The TOKEN authorizer against real tenants and tokens."""

from typing import Any

import pytest

from tests.conftest import Tenant, load_event
from tests.integration.conftest import Invoke


def authorize(invoke: Invoke, authorization: str) -> Any:
    event = load_event("authorizer-token")
    event["authorizationToken"] = authorization
    return invoke("AuthorizerFunction", event)


def test_valid_token_allows_the_whole_api_for_its_tenant(invoke: Invoke, tenant: Tenant) -> None:
    policy = authorize(invoke, tenant.authorization)
    assert policy["principalId"] == str(tenant.id)
    assert policy["context"] == {"tenant_id": str(tenant.id)}
    (statement,) = policy["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/Prod/*/*"]


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer etp_not-a-real-token", "Bearer " + "x" * 1000],
)
def test_missing_or_unknown_tokens_are_unauthorized(invoke: Invoke, tenant: Tenant, authorization: str) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(invoke, authorization)


def test_revoked_token_is_unauthorized_on_the_next_request(invoke: Invoke, tenant: Tenant) -> None:
    from trigger_platform.auth import token_hash
    from trigger_platform.edge import wiring

    authorize(invoke, tenant.authorization)
    assert wiring.token_store().revoke(token_hash(tenant.token))
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(invoke, tenant.authorization)


def test_tokens_are_stored_only_as_sha256(database_url: str, tenant: Tenant) -> None:
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT token_hash::text, label FROM api_tokens WHERE tenant_id = %s", (str(tenant.id),))
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM api_tokens WHERE position(%s in token_hash::text) > 0", (tenant.token,))
        (plain,) = cur.fetchone() or (None,)
    assert len(rows) == 1
    assert tenant.token not in repr(rows)
    assert plain == 0
