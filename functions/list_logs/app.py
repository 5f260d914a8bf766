"""GET /logs: the caller's event logs, newest first, a keyset page at a time (first pages cached).

The caller's logs, newest first, filtered by state, trigger, source, delivery and time, each with
its delivery in brief; the next page is in the Link header. First pages may come from the cache
(X-Cache), never staler than a log's state change.
"""

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.definitions import IsoDateTime
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.headers import next_link
from trigger_platform.edge.log_reads import log_page
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import json_response
from trigger_platform.ids import ID_PATTERN
from trigger_platform.lifecycle import LogState
from trigger_platform.pagination import DEFAULT_LIMIT, MAX_LIMIT
from trigger_platform.records import DeliveryStatus, LogSource
from trigger_platform.views import LogView

app = make_resolver()


@app.get(
    "/logs",
    **operation("listLogs", "Logs", "List event logs", __doc__),
    responses={
        **documented(
            200,
            list[LogView],
            "Logs, newest first",
            {"Link": 'The next page: <url>; rel="next"', "X-Cache": "hit, miss or bypass"},
        ),
        **problems(401, 422, 503),
    },
)
def list_logs(
    state: Annotated[
        LogState | None, Query(description="active (< 2 h old) or archived (2-48 h); both by default")
    ] = None,
    trigger_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="Only this trigger's logs")] = None,
    source: Annotated[LogSource | None, Query(description="Only logs fired this way")] = None,
    delivery: Annotated[
        DeliveryStatus | None, Query(description="Only logs whose delivery stands so (none: no target)")
    ] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="fired at or after (ISO-8601 with offset; read to the second)")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(description="fired before (ISO-8601 with offset; read to the second)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Logs per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(pattern=logs.LOG_CURSOR_PATTERN, description="From the previous page's Link")
    ] = None,
) -> Response[str]:
    query = logs.log_filter(state, trigger_id, source, since, until, delivery)
    page, cache_status = log_page(
        tenant_id(app),
        query,
        limit,
        cursor,
        store=wiring.unit_of_work().logs,
        cache=wiring.cache(),
        clock=wiring.clock(),
    )
    logger.info("logs listed", cache=cache_status)
    count(f"Cache{cache_status.title()}", route="list_logs")
    headers: dict[str, str] = {"X-Cache": cache_status}
    if page.next_cursor:
        filters: dict[str, Any] = {
            "state": state,
            "trigger_id": trigger_id,
            "source": source,
            "delivery": delivery,
            "since": since,
            "until": until,
        }
        link_query = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items() if v is not None}
        headers["Link"] = next_link(app, {**link_query, "limit": str(limit), "cursor": page.next_cursor})
    return json_response(200, page.body, headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
