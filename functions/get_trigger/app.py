"""GET /triggers/{trigger_id}: one of the caller's triggers.

The trigger with its state and next fire time; its ETag is the version an edit names in If-Match.
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

app = make_resolver(validate=False)  # its only input is the id in the path


@app.get(
    "/triggers/<trigger_id>",
    **operation("getTrigger", "Triggers", "Read a trigger", __doc__),
    responses={
        **documented(200, TriggerView, "The trigger", {"ETag": "The trigger's version"}),
        **problems(401, 404, 503),
    },
)
def get_trigger(trigger_id: str) -> Response[str]:
    trigger = triggers.get_trigger(tenant_id(app), trigger_id, store=wiring.unit_of_work().triggers)
    logger.info("trigger read", trigger_id=trigger_id)
    count("Reads", route="get_trigger")
    return model_response(200, TriggerView.of(trigger, base_url(app)), {"ETag": etag(trigger.version)})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
