"""GET /triggers: the caller's triggers, a keyset page at a time."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.http import documented, make_resolver, model_response, next_link, problems, tenant_id
from trigger_platform.edge.observability import lambda_entry
from trigger_platform.models import TriggerOut
from trigger_platform.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT

app = make_resolver()


@app.get(
    "/triggers",
    summary="List triggers",
    responses={
        **documented(200, list[TriggerOut], "A page of triggers", {"Link": 'The next page: <url>; rel="next"'}),
        **problems(401, 422, 503),
    },
)
def list_triggers(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description="From the previous page's Link")] = None,
) -> Response[str]:
    page = triggers.list_triggers(tenant_id(app), wiring.trigger_store(), limit, cursor)
    headers = {}
    if page.next_cursor:
        headers["Link"] = next_link(app, {"limit": str(limit), "cursor": page.next_cursor})
    return model_response(200, [TriggerOut.of(t) for t in page.triggers], headers=headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
