"""GET /triggers/{trigger_id}: one of the caller's triggers."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import etag, json_response, make_resolver, tenant_id
from trigger_platform.models import TriggerOut

app = make_resolver()
logger = Logger()


@app.get("/triggers/<trigger_id>")
def get_trigger(trigger_id: str) -> Response[TriggerOut]:
    trigger = triggers.get_trigger(tenant_id(app), trigger_id, wiring.trigger_store())
    return json_response(200, TriggerOut.of(trigger), headers={"ETag": etag(trigger.version)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
