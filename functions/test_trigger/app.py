"""POST /triggers/{trigger_id}/test: fire a saved trigger once, now, leaving its schedule alone."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import firing
from trigger_platform.edge import wiring
from trigger_platform.edge.http import documented, make_resolver, manual_test_response, problems, tenant_id
from trigger_platform.edge.observability import count, lambda_entry
from trigger_platform.models import ManualTestOutcome

app = make_resolver()


@app.post(
    "/triggers/<trigger_id>/test",
    summary="Test a saved trigger now",
    responses={
        **documented(201, ManualTestOutcome, "Fired once and logged as a test"),
        **problems(401, 404),
        503: {
            "description": "Could not fire: status failed, with a reason",
            "content": {"application/json": {"model": ManualTestOutcome}},
        },
    },
)
def test_trigger(trigger_id: str) -> Response[str]:
    tenant = tenant_id(app)
    response = manual_test_response(
        lambda: firing.test_trigger(
            tenant, trigger_id, wiring.trigger_store(), wiring.log_store(), wiring.cache(), wiring.clock()
        )
    )
    if response.status_code == 201:
        count("Fires", source="test")
    return response


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
