"""POST /triggers/{trigger_id}/test: fire a saved trigger once, now, leaving its schedule alone."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.http import make_resolver, manual_test_response, manual_test_responses, tenant_id
from trigger_platform.edge.observability import lambda_entry

app = make_resolver()


@app.post(
    "/triggers/<trigger_id>/test",
    summary="Test a saved trigger now",
    responses=manual_test_responses(401, 404),
)
def test_trigger(trigger_id: str) -> Response[str]:
    tenant = tenant_id(app)
    return manual_test_response(
        lambda: firing.test_trigger(
            tenant, trigger_id, wiring.trigger_store(), wiring.log_store(), wiring.cache(), wiring.clock()
        )
    )


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
