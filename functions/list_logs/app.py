"""GET /logs: the caller's event logs, newest first, a keyset page at a time (first pages cached)."""

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.edge import wiring
from trigger_platform.edge.http import cached_json_response, documented, make_resolver, next_link, problems, tenant_id
from trigger_platform.edge.observability import count, lambda_entry
from trigger_platform.ids import ID_PATTERN
from trigger_platform.models import IsoDateTime, LogOut, LogSource, LogState
from trigger_platform.pagination import DEFAULT_LIMIT, MAX_LIMIT

app = make_resolver()


# The body may come from the cache already serialised: documented here, not re-validated.
@app.get(
    "/logs",
    summary="List event logs",
    responses={
        **documented(
            200,
            list[LogOut],
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
    trigger_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    source: Annotated[LogSource | None, Query()] = None,
    since: Annotated[IsoDateTime | None, Query(description="fired at or after (ISO-8601 with offset)")] = None,
    until: Annotated[IsoDateTime | None, Query(description="fired before (ISO-8601 with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(pattern=logs.LOG_CURSOR_PATTERN, description="From the previous page's Link")
    ] = None,
) -> Response[str]:
    query = logs.log_filter(state, trigger_id, source, since, until)
    document, next_cursor, cache_status = logs.list_logs(
        tenant_id(app), query, limit, cursor, wiring.log_store(), wiring.cache(), wiring.clock()
    )
    headers = {}
    if next_cursor:
        params: dict[str, Any] = {
            "state": state,
            "trigger_id": trigger_id,
            "source": source,
            "since": since,
            "until": until,
        }
        link_query = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in params.items() if v is not None}
        headers["Link"] = next_link(app, {**link_query, "limit": str(limit), "cursor": next_cursor})
    count(f"Cache{cache_status.title()}", route="list_logs")
    return cached_json_response(document, cache_status, headers)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
