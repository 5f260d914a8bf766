"""POST /triggers/test: fire a trigger definition once, now, without saving it (only its test log)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.definitions import TriggerDefinition
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import BODY_PROBLEMS, manual_test_responses
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import manual_test_response

app = make_resolver()


@app.post(
    "/triggers/test",
    operation_id="testDefinition",
    tags=["Firing"],
    summary="Test a definition without saving it",
    description=(
        "Checks the definition as creating it would, fires it once now and writes a test log "
        "(`is_test: true`); nothing else is stored."
    ),
    responses=manual_test_responses(*BODY_PROBLEMS),
)
def test_definition(definition: TriggerDefinition) -> Response[str]:
    outcome = firing.test_definition(
        tenant_id(app), definition.root, uow=wiring.unit_of_work(), cache=wiring.cache(), clock=wiring.clock()
    )
    logger.info("definition tested", log_id=str(outcome.log.id) if outcome.log else None, failure=outcome.failure)
    if outcome.log is not None:
        count("Fires", source="test")
    return manual_test_response(outcome)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
