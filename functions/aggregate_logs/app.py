"""GET /logs/aggregate: counts of the caller's logs by state, trigger and source (cached).

Counts of the logs the caller can still read: in total, per trigger and per source, by state; and by
where their delivery stands.
"""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import logs
from trigger_platform.definitions import IsoDateTime
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.log_reads import log_aggregate
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import json_response
from trigger_platform.ids import ID_PATTERN
from trigger_platform.lifecycle import LogState
from trigger_platform.views import LogAggregateView

app = make_resolver()


@app.get(
    "/logs/aggregate",
    **operation("aggregateLogs", "Logs", "Count event logs", __doc__),
    responses={
        **documented(200, LogAggregateView, "Counts by state, trigger and source", {"X-Cache": "hit, miss or bypass"}),
        **problems(401, 422, 503),
    },
)
def aggregate_logs(
    state: Annotated[LogState | None, Query(description="Count only active or only archived logs")] = None,
    trigger_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="Count only this trigger's logs")] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="fired at or after (ISO-8601 with offset; read to the second)")
    ] = None,
) -> Response[str]:
    query = logs.log_filter(state, trigger_id, None, since, None)
    aggregate, cache_status = log_aggregate(
        tenant_id(app),
        query,
        store=wiring.unit_of_work().logs,
        cache=wiring.cache(),
        clock=wiring.clock(),
        deliveries=wiring.unit_of_work().deliveries,
    )
    logger.info("logs aggregated", cache=cache_status)
    count(f"Cache{cache_status.title()}", route="aggregate_logs")
    return json_response(200, aggregate.body, {"X-Cache": cache_status})


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
