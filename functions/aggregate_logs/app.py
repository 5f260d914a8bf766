"""GET /logs/aggregate: counts of the caller's logs by state, trigger and source (cached)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.edge import wiring
from trigger_platform.edge.http import cached_json_response, documented, make_resolver, problems, tenant_id
from trigger_platform.edge.observability import count, lambda_entry
from trigger_platform.ids import ID_PATTERN
from trigger_platform.models import IsoDateTime, LogAggregate, LogState

app = make_resolver()


# The body may come from the cache already serialised: documented here, not re-validated.
@app.get(
    "/logs/aggregate",
    summary="Count event logs",
    responses={
        **documented(200, LogAggregate, "Counts by state, trigger and source", {"X-Cache": "hit, miss or bypass"}),
        **problems(401, 422, 503),
    },
)
def aggregate_logs(
    state: Annotated[LogState | None, Query()] = None,
    trigger_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    since: Annotated[IsoDateTime | None, Query(description="fired at or after (ISO-8601 with offset)")] = None,
) -> Response[str]:
    query = logs.log_filter(state, trigger_id, None, since, None)
    document, cache_status = logs.aggregate_logs(
        tenant_id(app), query, wiring.log_store(), wiring.cache(), wiring.clock()
    )
    count(f"Cache{cache_status.title()}", route="aggregate_logs")
    return cached_json_response(document, cache_status)


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
