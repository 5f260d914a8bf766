"""POST /triggers: define a trigger.

A scheduled trigger fires once after an interval, once at a time, or recurring (every interval, or
by cron in a time zone); an api trigger fires when a client calls its endpoint with a body that fits
its payload. With a target, each fire is POSTed to its URL, signed with the secret the answer shows.
The answer carries the stored trigger, its ETag and its URL.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.definitions import TriggerDefinition
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import BODY_PROBLEMS, documented, operation, problems
from trigger_platform.edge.headers import base_url, etag
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.views import TriggerCreated, TriggerView

app = make_resolver()


@app.post(
    "/triggers",
    **operation("createTrigger", "Triggers", "Create a trigger", __doc__),
    responses={
        **documented(201, TriggerCreated, "Created", {"ETag": "The trigger's version", "Location": "Its URL"}),
        **problems(*BODY_PROBLEMS, 409),
    },
)
def create_trigger(definition: TriggerDefinition) -> Response[str]:
    trigger = triggers.create_trigger(
        tenant_id(app),
        definition.root,
        uow=wiring.unit_of_work(),
        clock=wiring.clock(),
        targets=wiring.target_guard(),
        quotas=wiring.quotas(),
    )
    logger.info("trigger created", trigger_id=str(trigger.id), trigger_type=trigger.definition.type)
    count("TriggersCreated", type=trigger.definition.type)
    base = base_url(app)
    body = TriggerCreated.model_construct(id=trigger.id, status="created", trigger=TriggerView.of(trigger, base))
    return model_response(201, body, {"ETag": etag(trigger.version), "Location": f"{base}/triggers/{trigger.id}"})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
