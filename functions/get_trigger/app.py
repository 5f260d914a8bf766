"""GET /triggers/{trigger_id}: one of the caller's triggers."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import documented, etag, make_resolver, model_response, problems, tenant_id
from trigger_platform.edge.observability import lambda_entry
from trigger_platform.models import TriggerOut

app = make_resolver()


@app.get(
    "/triggers/<trigger_id>",
    summary="Read a trigger",
    responses={
        **documented(200, TriggerOut, "The trigger", {"ETag": "The trigger's version"}),
        **problems(401, 404, 503),
    },
)
def get_trigger(trigger_id: str) -> Response[str]:
    trigger = triggers.get_trigger(tenant_id(app), trigger_id, wiring.trigger_store())
    return model_response(200, TriggerOut.of(trigger), headers={"ETag": etag(trigger.version)})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
