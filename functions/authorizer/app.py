"""API Gateway TOKEN authorizer: a bearer token becomes the tenant id every route is scoped by.

Bad or missing tokens raise "Unauthorized", which API Gateway answers with 401 (shaped as
problem+json by the API's gateway responses). The policy allows the whole API so that API
Gateway can cache it per token.
"""

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform.auth import authenticate
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.errors import Unauthenticated


@lambda_entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayAuthorizerTokenEvent(event)
    try:
        tenant, usage_key = authenticate(
            request.authorization_token, tokens=wiring.token_store(), configured=wiring.configured_token()
        )
    except Unauthenticated:
        logger.info("token rejected")
        raise Exception("Unauthorized") from None  # the exact message API Gateway maps to 401
    arn = request.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=str(tenant),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={"tenant_id": str(tenant)},
        usage_identifier_key=usage_key,  # API Gateway's usage plan throttles each tenant by it
    )
    policy.allow_all_routes()
    logger.info("token accepted", tenant_id=str(tenant))
    count("Authorizations")
    return policy.asdict()
