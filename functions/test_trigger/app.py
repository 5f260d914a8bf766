"""POST /triggers/{trigger_id}/test: fire a saved trigger once, now, leaving its schedule alone.

Fires the trigger once now with its predefined payload, whatever its schedule or state, and writes a
test log; the schedule is left as it is.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import manual_test_responses, operation
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import manual_test_response

app = make_resolver(validate=False)  # its only input is the id in the path


@app.post(
    "/triggers/<trigger_id>/test",
    **operation("testTrigger", "Firing", "Test a saved trigger now", __doc__),
    responses=manual_test_responses(401, 404),
)
def test_trigger(trigger_id: str) -> Response[str]:
    outcome = firing.test_trigger(
        tenant_id(app),
        trigger_id,
        uow=wiring.unit_of_work(),
        cache=wiring.cache(),
        clock=wiring.clock(),
        queue=wiring.delivery_queue(),
    )
    logger.info("trigger tested", trigger_id=trigger_id, log_id=outcome.log_id, failure=outcome.failure)
    count("Fires" if outcome.log else "FailedTests", source="test")
    return manual_test_response(outcome)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
