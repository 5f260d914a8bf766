"""POST /triggers/test: fire a trigger definition once, now, without saving it (only its test log)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.http import (
    BODY_PROBLEMS,
    make_resolver,
    manual_test_response,
    manual_test_responses,
    tenant_id,
)
from trigger_platform.edge.observability import lambda_entry
from trigger_platform.models import TriggerDefinition

app = make_resolver()


@app.post(
    "/triggers/test",
    summary="Test a definition without saving it",
    responses=manual_test_responses(*BODY_PROBLEMS),
)
def test_definition(definition: TriggerDefinition) -> Response[str]:
    tenant = tenant_id(app)
    return manual_test_response(
        lambda: firing.test_definition(tenant, definition.root, wiring.log_store(), wiring.cache(), wiring.clock())
    )


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
