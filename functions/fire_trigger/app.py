"""POST /triggers/{trigger_id}/fire: fire an api trigger with a body that fits its payload schema.

The body's keys are overlaid on the trigger's predefined payload; each must be in the trigger's
payload schema with a matching type, and required keys must end up present (422 names each key that
does not fit). With an Idempotency-Key, retries within 24 h return the first call's log.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import WithJsonSchema

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import BODY_PROBLEMS, documented, operation, problems
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.payloads import FLAT_PAYLOAD_SCHEMA
from trigger_platform.views import Fired

app = make_resolver()
warm_triggers = firing.WarmTriggers()  # kept while this instance is warm


@app.post(
    "/triggers/<trigger_id>/fire",
    **operation("fireTrigger", "Firing", "Fire an api trigger", __doc__),
    responses={
        **documented(
            201, Fired, "Fired and logged", {"Idempotent-Replayed": "true when an earlier call's result is returned"}
        ),
        **problems(*BODY_PROBLEMS, 404, 409),
    },
)
def fire_trigger(
    trigger_id: str,
    # The domain checks the body against the trigger's own schema; documented here, not validated twice.
    body: Annotated[
        dict[str, Any] | None,
        Body(description="Flat JSON object overlaid on the predefined payload", examples=[{"key": "value"}]),
        WithJsonSchema(FLAT_PAYLOAD_SCHEMA),
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
        uow=wiring.unit_of_work(),
        cache=wiring.cache(),
        clock=wiring.clock(),
        queue=wiring.delivery_queue(),
        warm=warm_triggers,
    )
    logger.info("trigger fired", trigger_id=trigger_id, log_id=str(result.log_id), replayed=result.replayed)
    if not result.replayed:
        count("Fires", source="api")
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return model_response(201, Fired(id=result.log_id), headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
