"""POST /triggers/test: fire a trigger definition once, now, without saving it (only its test log).

Checks the definition as creating it would, fires it once now and writes a test log (`is_test:
true`); nothing else is stored.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.definitions import TriggerDefinition
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import BODY_PROBLEMS, manual_test_responses, operation
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import manual_test_response

app = make_resolver()


@app.post(
    "/triggers/test",
    **operation("testDefinition", "Firing", "Test a definition without saving it", __doc__),
    responses=manual_test_responses(*BODY_PROBLEMS),
)
def test_definition(definition: TriggerDefinition) -> Response[str]:
    outcome = firing.test_definition(
        tenant_id(app), definition.root, uow=wiring.unit_of_work(), cache=wiring.cache(), clock=wiring.clock()
    )
    logger.info("definition tested", log_id=outcome.log_id, failure=outcome.failure)
    count("Fires" if outcome.log else "FailedTests", source="test")
    return manual_test_response(outcome)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
