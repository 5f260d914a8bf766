"""POST /triggers: define a trigger."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import (
    BODY_PROBLEMS,
    documented,
    etag,
    make_resolver,
    model_response,
    problems,
    tenant_id,
)
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.models import TriggerCreated, TriggerDefinition, TriggerOut

app = make_resolver()


@app.post(
    "/triggers",
    summary="Create a trigger",
    responses={
        **documented(201, TriggerCreated, "Created", {"ETag": "The trigger's version", "Location": "Its URL"}),
        **problems(*BODY_PROBLEMS),
    },
)
def create_trigger(definition: TriggerDefinition) -> Response[str]:
    trigger = triggers.create_trigger(
        tenant_id(app), definition.root, wiring.trigger_store(), wiring.scheduler(), wiring.clock()
    )
    logger.info("trigger created", trigger_id=str(trigger.id), trigger_type=trigger.definition.type)
    count("TriggersCreated", type=trigger.definition.type)
    body = TriggerCreated(id=trigger.id, trigger=TriggerOut.of(trigger))
    return model_response(201, body, headers={"ETag": etag(trigger.version), "Location": f"/triggers/{trigger.id}"})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
