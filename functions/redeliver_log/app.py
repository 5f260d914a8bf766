"""POST /logs/{log_id}/redeliver: deliver a log to its trigger's target again, now.

Starts a new round of attempts now, under the same webhook-id (receivers deduplicate on it), whether
the delivery was delivered, failed or waiting for a retry; 409 while an attempt is in flight, or
when the trigger had no target.
"""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from trigger_platform import delivery
from trigger_platform.edge import wiring
from trigger_platform.edge.documentation import documented, operation, problems
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.edge.resolver import make_resolver, tenant_id
from trigger_platform.edge.responses import model_response
from trigger_platform.views import DeliveryView

app = make_resolver()


@app.post(
    "/logs/<log_id>/redeliver",
    **operation("redeliverLog", "Logs", "Deliver a log again", __doc__),
    responses={**documented(202, DeliveryView, "Accepted: the delivery, pending"), **problems(401, 404, 409, 503)},
)
def redeliver_log(log_id: str) -> Response[str]:
    uow = wiring.unit_of_work()
    pending = delivery.redeliver(
        tenant_id(app),
        log_id,
        store=uow.deliveries,
        logs=uow.logs,
        queue=wiring.delivery_queue(),
        cache=wiring.cache(),
        clock=wiring.clock(),
    )
    logger.info("log redelivered", log_id=log_id)
    count("Redeliveries")
    return model_response(202, DeliveryView.of(pending))


@lambda_entry(correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
