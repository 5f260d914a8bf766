"""API Gateway, for what operators do to it: each tenant's key in the usage plan that throttles it,
and flushing the stage's authorizer cache so that a revoked token stops working at once.

Imported by the CLI only, on AWS; ``client`` is ``boto3.client("apigateway")``.
"""

import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from trigger_platform.errors import ServiceUnavailable


class UsagePlanKeys:
    """Implements ``ports.ApiKeys``: one API key per tenant, in the plan ``usage_plan_id``."""

    def __init__(self, client: Any, usage_plan_id: str) -> None:
        self._client = client
        self._usage_plan_id = usage_plan_id

    def issue(self, tenant_name: str) -> str:
        value = secrets.token_urlsafe(30)  # API Gateway wants 20-128 characters
        try:
            key = self._client.create_api_key(name=f"tenant-{tenant_name}"[:128], enabled=True, value=value)
            self._client.create_usage_plan_key(usagePlanId=self._usage_plan_id, keyId=key["id"], keyType="API_KEY")
        except (ClientError, BotoCoreError) as error:
            raise ServiceUnavailable("API Gateway is not reachable.") from error
        return value


def flush_authorizer_cache(client: Any, rest_api_id: str, stage: str) -> None:
    """Drop the stage's cached authorizer answers: the next request with any token is authorized anew."""
    try:
        client.flush_stage_authorizers_cache(restApiId=rest_api_id, stageName=stage)
    except (ClientError, BotoCoreError) as error:
        raise ServiceUnavailable("API Gateway is not reachable.") from error
