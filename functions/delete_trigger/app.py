"""DELETE /triggers/{trigger_id}: remove a trigger (its logs stay until they expire).

Removes the trigger and its schedule; the logs it wrote stay readable until they expire.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import operation, problems
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id

app = make_resolver(validate=False)  # its only input is the id in the path


@app.delete(
    "/triggers/<trigger_id>",
    **operation("deleteTrigger", "Triggers", "Delete a trigger", __doc__),
    responses={204: {"description": "Deleted"}, **problems(401, 404, 503)},
)
def delete_trigger(trigger_id: str) -> Response[None]:
    triggers.delete_trigger(tenant_id(app), trigger_id, uow=wiring.unit_of_work())
    logger.info("trigger deleted", trigger_id=trigger_id)
    count("TriggersDeleted")
    return Response(204)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
