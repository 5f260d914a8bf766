"""The DeliveryQueue port over SQS: a message per delivery to wake, and visibility as back-off.

Every SQS error becomes ``ServiceUnavailable`` here: the fire path shrugs it off (the outbox row is
committed and the retention sweep re-sends it), the delivery function lets the message come back.
"""

import math
from typing import Any
from uuid import UUID

from trigger_platform.delivery import DeliveryMessage
from trigger_platform.errors import ServiceUnavailable

#: SQS's longest visibility timeout: a longer wait comes back early and is put off again.
MAX_VISIBILITY_S = 12 * 3600
_BATCH = 10


class SqsDeliveryQueue:
    def __init__(self, queue_url: str, client: Any = None) -> None:
        """``client`` defaults to boto3's, made on first use: a fire function pays for importing
        boto3 only when it fires a trigger with a target."""
        self._queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("sqs")
        return self._client

    def send(self, log_ids: list[UUID]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(log_ids), _BATCH):
            entries = [
                {"Id": str(index), "MessageBody": DeliveryMessage(log_id=log_id).model_dump_json()}
                for index, log_id in enumerate(log_ids[start : start + _BATCH])
            ]
            try:
                answer = self.client.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                raise ServiceUnavailable("The delivery queue is not reachable.") from exc
            if answer.get("Failed"):
                raise ServiceUnavailable("The delivery queue refused some messages.")

    def retry_in(self, receipt: str, seconds: float) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=receipt,
                VisibilityTimeout=min(MAX_VISIBILITY_S, max(0, math.ceil(seconds))),
            )
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable("The delivery queue is not reachable.") from exc
