"""DELETE /triggers/{trigger_id}: remove a trigger (its logs stay until they expire)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import make_resolver, problems, tenant_id
from trigger_platform.edge.observability import lambda_entry, logger

app = make_resolver()


@app.delete(
    "/triggers/<trigger_id>",
    summary="Delete a trigger",
    responses={204: {"description": "Deleted"}, **problems(401, 404, 503)},
)
def delete_trigger(trigger_id: str) -> Response[None]:
    triggers.delete_trigger(tenant_id(app), trigger_id, wiring.trigger_store(), wiring.scheduler())
    logger.info("trigger deleted", trigger_id=trigger_id)
    return Response(204)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
