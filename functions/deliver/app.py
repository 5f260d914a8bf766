"""The delivery queue's consumer (SQS on AWS, the local runtime's emulation): one attempt for each
due delivery in the batch, sent concurrently, answered as a partial batch response.

Only the messages to be tried again are reported as failures, after their visibility timeout was
set to the back-off, so SQS brings each back when it is due; the others are deleted. A database
outage raises, and the whole batch comes back once its visibility timeout ends.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from trigger_platform import delivery
from trigger_platform.adapters.delivery_store import PostgresDeliveryStore
from trigger_platform.edge import wiring
from trigger_platform.edge.observability import count, lambda_entry, logger
from trigger_platform.errors import ServiceUnavailable


@cache
def deliveries() -> PostgresDeliveryStore:
    """This warm instance's own connection."""
    return wiring.new_delivery_store()


@lambda_entry()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    messages: list[delivery.QueuedDelivery] = []
    message_ids: dict[str, str] = {}
    for record in SQSEvent(event).records:
        try:
            message = delivery.DeliveryMessage.model_validate_json(record.body)
        except ValidationError:
            logger.error("delivery message dropped: its body is not a delivery message", message_id=record.message_id)
            continue  # trying a malformed message again cannot help
        messages.append(delivery.QueuedDelivery(message.log_id, record.receipt_handle))
        message_ids[record.receipt_handle] = record.message_id
    outcomes = delivery.deliver(
        messages,
        store=deliveries(),
        sender=wiring.webhook_sender(),
        cache=wiring.cache(),
        clock=wiring.clock(),
        policy=wiring.delivery_policy(),
    )
    queue = wiring.delivery_queue()
    failures = []
    for outcome in outcomes:
        if outcome.retry_in_s is None:
            continue
        if queue is not None:
            try:
                queue.retry_in(outcome.receipt, outcome.retry_in_s)
            except ServiceUnavailable:
                logger.warning("could not set a message's back-off; it returns after the queue's timeout")
        failures.append({"itemIdentifier": message_ids[outcome.receipt]})
    logger.info("deliveries handled", messages=len(messages), to_retry=len(failures))
    count("DeliveryMessages", len(messages))
    return {"batchItemFailures": failures}
