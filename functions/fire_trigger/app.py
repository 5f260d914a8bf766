"""POST /triggers/{trigger_id}/fire: fire an api trigger with a body that fits its payload schema."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.http import BODY_PROBLEMS, documented, make_resolver, model_response, problems, tenant_id
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.models import Fired

app = make_resolver()


@app.post(
    "/triggers/<trigger_id>/fire",
    summary="Fire an api trigger",
    responses={
        **documented(
            201, Fired, "Fired and logged", {"Idempotent-Replayed": "true when an earlier call's result is returned"}
        ),
        **problems(*BODY_PROBLEMS, 404, 409),
    },
)
def fire_trigger(
    trigger_id: str,
    body: Annotated[
        dict[str, Any] | None, Body(description="Flat JSON object overlaid on the predefined payload")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Retries with the same key return the first result for 24 h",
        ),
    ] = None,
) -> Response[str]:
    result = firing.fire_api_trigger(
        tenant_id(app),
        trigger_id,
        body,
        idempotency_key,
        wiring.trigger_store(),
        wiring.log_store(),
        wiring.cache(),
        wiring.clock(),
    )
    logger.info("trigger fired", trigger_id=trigger_id, log_id=str(result.log_id), replayed=result.replayed)
    if not result.replayed:
        count("Fires", source="api")
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return model_response(201, Fired(id=result.log_id), headers=headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
