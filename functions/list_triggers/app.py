"""GET /triggers: the caller's triggers, a keyset page at a time.

The caller's triggers, oldest first, a page at a time; the next page is in the Link header.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import triggers
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.headers import base_url, next_link
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import bounded_json_array, json_response
from trigger_platform.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT
from trigger_platform.views import TriggerView

app = make_resolver()


@app.get(
    "/triggers",
    **operation("listTriggers", "Triggers", "List triggers", __doc__),
    responses={
        **documented(200, list[TriggerView], "A page of triggers", {"Link": 'The next page: <url>; rel="next"'}),
        **problems(401, 422, 503),
    },
)
def list_triggers(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Triggers per page")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(pattern=CURSOR_PATTERN, description="From the previous page's Link")] = None,
) -> Response[str]:
    page = triggers.list_triggers(tenant_id(app), limit, cursor, store=wiring.unit_of_work().triggers)
    base = base_url(app)
    body, shown = bounded_json_array([TriggerView.of(t, base) for t in page.triggers])
    page = page.up_to(shown)
    logger.info("triggers listed", count=shown)
    count("Reads", route="list_triggers")
    headers = {"Link": next_link(app, {"limit": str(limit), "cursor": page.next_cursor})} if page.next_cursor else None
    return json_response(200, body, headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
