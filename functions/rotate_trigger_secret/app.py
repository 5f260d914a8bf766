"""POST /triggers/{trigger_id}/rotate-secret: a new signing secret; the old one signs too for 24 h.

Gives the trigger a new target.secret. For 24 hours deliveries carry a signature by each secret (the
webhook-signature header lists both), so receivers can switch over; then only the new one signs.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.headers import base_url, etag
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.views import TriggerView

app = make_resolver()


@app.post(
    "/triggers/<trigger_id>/rotate-secret",
    **operation("rotateTriggerSecret", "Triggers", "Rotate a trigger's signing secret", __doc__),
    responses={
        **documented(200, TriggerView, "The trigger with its new secret", {"ETag": "The trigger's version"}),
        **problems(401, 404, 409, 503),
    },
)
def rotate_trigger_secret(trigger_id: str) -> Response[str]:
    trigger = triggers.rotate_secret(
        tenant_id(app), trigger_id, store=wiring.unit_of_work().triggers, clock=wiring.clock()
    )
    logger.info("signing secret rotated", trigger_id=trigger_id)  # never the secret itself
    count("SecretsRotated")
    return model_response(200, TriggerView.of(trigger, base_url(app)), {"ETag": etag(trigger.version)})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
