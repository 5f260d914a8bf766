"""Tenants and tokens through the operator commands: no token for a name already taken, rotation
with add-token, configured tokens that replace each other, and, on AWS (moto, a stubbed client),
a usage-plan key per tenant and an authorizer cache flushed on revocation."""

import io
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from tests.conftest import load_event
from tests.integration.conftest import Invoke
from trigger_platform import auth
from trigger_platform.edge import cli, wiring
from trigger_platform.errors import InvalidInput, Unauthenticated
from trigger_platform.settings import Settings


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def printed_token(out: str) -> str:
    return out.rsplit(": ", 1)[1].strip()


def authorize(invoke: Invoke, token: str) -> dict[str, Any]:
    event = {**load_event("authorizer-token"), "authorizationToken": f"Bearer {token}"}
    return invoke("AuthorizerFunction", event)  # type: ignore[no-any-return]


def test_create_tenant_refuses_a_taken_or_blank_name(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"acme-{uuid.uuid4().hex[:6]}"
    code, out, _ = run(capsys, "create-tenant", name)
    assert code == 0 and printed_token(out).startswith("etp_")
    for taken in (name, f"  {name} "):
        code, out, err = run(capsys, "create-tenant", taken)
        assert (code, out) == (1, "") and "exists" in err and "add-token" in err
    code, out, err = run(capsys, "create-tenant", "   ")
    assert (code, out) == (1, "") and "name" in err


def test_add_token_rotates_and_the_old_token_can_then_be_revoked(
    invoke: Invoke, database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"rotate-{uuid.uuid4().hex[:6]}"
    old = printed_token(run(capsys, "create-tenant", name)[1])
    code, out, _ = run(capsys, "add-token", name)
    new = printed_token(out)
    assert code == 0 and new != old
    tenant = authorize(invoke, old)["context"]["tenant_id"]
    assert authorize(invoke, new)["context"]["tenant_id"] == tenant
    monkeypatch.setattr("sys.stdin", io.StringIO(old + "\n"))
    assert run(capsys, "revoke-token")[0] == 0
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(invoke, old)
    assert run(capsys, "add-token", "nobody-by-this-name")[0] == 1


def test_a_changed_configured_token_revokes_the_one_before(database_url: str) -> None:
    tokens = wiring.token_store()
    name = f"deployment-{uuid.uuid4().hex[:6]}"
    first, second = "a" * 40, "b" * 40
    tenant = auth.use_configured_token(name, first, tokens=tokens)
    assert auth.use_configured_token(name, second, tokens=tokens) == tenant
    assert auth.authenticate(f"Bearer {second}", tokens=tokens, configured=second)[0] == tenant
    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {first}", tokens=tokens, configured=first)
    with pytest.raises(InvalidInput):
        auth.use_configured_token(name, "short", tokens=tokens)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("apigateway", region_name="us-east-1")


def test_on_aws_a_new_tenant_gets_its_key_in_the_usage_plan_and_the_authorizer_returns_it(
    invoke: Invoke, database_url: str, aws: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = aws.create_usage_plan(name="tenants", throttle={"rateLimit": 20.0, "burstLimit": 40})["id"]
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(usage_plan_id=plan))
    monkeypatch.setattr(cli, "_apigateway", lambda: aws)
    code, out, _ = run(capsys, "create-tenant", f"aws-{uuid.uuid4().hex[:6]}")
    assert code == 0
    (key,) = aws.get_usage_plan_keys(usagePlanId=plan)["items"]
    assert authorize(invoke, printed_token(out))["usageIdentifierKey"] == key["value"]


def test_on_aws_revoking_flushes_the_stages_authorizer_cache(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = printed_token(run(capsys, "create-tenant", f"flush-{uuid.uuid4().hex[:6]}")[1])
    client = boto3.client("apigateway", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(rest_api_id="abc123", stage="prod"))
    monkeypatch.setattr(cli, "_apigateway", lambda: client)
    monkeypatch.setattr("sys.stdin", io.StringIO(token + "\n"))
    with Stubber(client) as stubber:
        stubber.add_response("flush_stage_authorizers_cache", {}, {"restApiId": "abc123", "stageName": "prod"})
        code, out, _ = run(capsys, "revoke-token")
        stubber.assert_no_pending_responses()
    assert code == 0 and "flushed" in out
