"""Delivery as on AWS, with SQS in moto: the fire path sends a message after committing its outbox
row, the delivery function answers partial batch responses and backs off through the message's
visibility timeout, and the retention sweep re-enqueues a row whose message never reached the queue."""

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import Tenant, load_event
from tests.integration.conftest import Invoke
from tests.integration.test_delivery import api_trigger, fire, loopback_allowed, read_log, sql  # noqa: F401 - an autouse fixture
from tests.integration.test_eventbridge_scheduler import credentials  # noqa: F401 - a fixture
from tests.receivers import Answer, Receiver
from trigger_platform.adapters.sqs_queue import SqsDeliveryQueue
from trigger_platform.delivery import DeliveryMessage
from trigger_platform.edge import wiring

REGION = "us-east-1"


@pytest.fixture
def sqs(credentials: None) -> Iterator[Any]:  # noqa: F811 - the fixture imported above
    with mock_aws():
        yield boto3.client("sqs", region_name=REGION)


@pytest.fixture
def queue_url(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A delivery queue with its dead-letter queue, as template.yaml makes them, wired as on AWS."""
    dead = sqs.create_queue(QueueName="deliveries-dlq")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = f'{{"deadLetterTargetArn": "{dead_arn}", "maxReceiveCount": "20"}}'
    url: str = sqs.create_queue(
        QueueName="deliveries", Attributes={"VisibilityTimeout": "180", "RedrivePolicy": redrive}
    )["QueueUrl"]
    queue = SqsDeliveryQueue(url, sqs)
    monkeypatch.setattr(wiring, "delivery_queue", lambda: queue)
    return url


def lambda_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping builds from received messages."""
    event = load_event("deliver-sqs")
    (template,) = event["Records"]
    event["Records"] = [
        {
            **template,
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "md5OfBody": m["MD5OfBody"],
        }
        for m in messages
    ]
    return event


def receive(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])  # type: ignore[no-any-return]


def test_a_fire_sends_a_message_and_a_failed_attempt_comes_back_after_its_back_off(
    invoke: Invoke, tenant: Tenant, sqs: Any, queue_url: str
) -> None:
    with Receiver(Answer(500)) as receiver:
        log_id = fire(invoke, tenant, api_trigger(invoke, tenant, receiver.url)["id"])
        (message,) = receive(sqs, queue_url)
        assert DeliveryMessage.model_validate_json(message["Body"]).log_id.hex == log_id.replace("-", "")
        answer = invoke("DeliveryFunction", lambda_event([message]))
        assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
        assert receive(sqs, queue_url) == []  # hidden for its back-off (0.2 s, whole seconds in SQS)
        time.sleep(1.2)
        (again,) = receive(sqs, queue_url)
        assert invoke("DeliveryFunction", lambda_event([again])) == {"batchItemFailures": []}
        assert len(receiver.received) == 2
    assert read_log(invoke, tenant, log_id)["delivery"]["status"] == "delivered"


def test_a_message_for_a_finished_or_unknown_delivery_is_dropped(invoke: Invoke, queue_url: str) -> None:
    answer = invoke("DeliveryFunction", load_event("deliver-sqs"))  # its log id was never fired
    assert answer == {"batchItemFailures": []}
    malformed = load_event("deliver-sqs")
    malformed["Records"][0]["body"] = "not json"
    assert invoke("DeliveryFunction", malformed) == {"batchItemFailures": []}


def test_a_fire_while_sqs_is_down_still_fires_and_the_sweep_enqueues_it(
    invoke: Invoke, tenant: Tenant, sqs: Any, queue_url: str, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    with Receiver() as receiver:
        trigger = api_trigger(invoke, tenant, receiver.url)
        monkeypatch.setattr(wiring, "delivery_queue", lambda: SqsDeliveryQueue(queue_url + "-missing", sqs))
        log_id = fire(invoke, tenant, trigger["id"])  # 201: the outbox row is committed, the send failed
        monkeypatch.setattr(wiring, "delivery_queue", lambda: SqsDeliveryQueue(queue_url, sqs))
        assert receive(sqs, queue_url) == []
        sql(
            database_url,
            "UPDATE deliveries SET next_attempt_at = now() - interval '10 minutes' WHERE log_id = %s",
            log_id,
        )
        swept = invoke("RetentionFunction", {})
        assert swept["deliveries_enqueued"] >= 1
        messages = [m for m in receive(sqs, queue_url) if log_id.replace("-", "") in m["Body"].replace("-", "")]
        assert invoke("DeliveryFunction", lambda_event(messages)) == {"batchItemFailures": []}
        assert len(receiver.received) == 1
    assert read_log(invoke, tenant, log_id)["delivery"]["status"] == "delivered"
