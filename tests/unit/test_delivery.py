"""Delivery rules and the delivery service, on in-memory fakes of the outbox and the sender."""

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from trigger_platform import delivery
from trigger_platform.adapters.cache import MemoryCache
from trigger_platform.clock import ManualClock
from trigger_platform.delivery import DeliveryPolicy, QueuedDelivery, retry_schedule, verdict
from trigger_platform.ports import AttemptRecord, ClaimedDelivery, SendResult, WebhookRequest
from trigger_platform.records import Attempt, DeliveryStatus, EventLog, SigningSecrets

NOW = datetime.now(UTC).replace(microsecond=0)
POLICY = DeliveryPolicy(retry_schedule("1,2,4"), jitter=0.0)


def log(**changes: object) -> EventLog:
    base = EventLog(
        id=uuid4(),
        tenant_id=uuid4(),
        trigger_id=uuid4(),
        trigger_type="api",
        source="api",
        is_test=False,
        scheduled_for=None,
        fired_at=NOW,
        payload={"key": "value", "n": 3},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# Rules -----------------------------------------------------------------------------------------


def test_the_default_schedule_is_svix_like_and_a_bad_one_is_refused() -> None:
    assert retry_schedule("5,300,1800,7200,18000,36000,36000") == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert retry_schedule("0.5, 1") == (0.5, 1.0)
    for bad in ("", "1,-2", "a", "1,0", "inf"):
        with pytest.raises(ValueError, match="positive"):
            retry_schedule(bad)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_a_2xx_is_delivered(status: int) -> None:
    assert verdict(POLICY, 1, SendResult(status, 5), NOW, 0.5) == ("delivered", None)


@pytest.mark.parametrize(("status", "error"), [(500, "HTTP 500"), (301, "HTTP 301"), (404, "HTTP 404"), (None, "x")])
def test_anything_else_is_retried_on_the_schedule(status: int | None, error: str) -> None:
    for attempt, delay in ((1, 1), (2, 2), (3, 4)):
        assert verdict(POLICY, attempt, SendResult(status, 5, error), NOW, 0.5) == (
            "pending",
            NOW + timedelta(seconds=delay),
        )


def test_a_410_or_a_spent_schedule_fails() -> None:
    assert verdict(POLICY, 1, SendResult(410, 5, "HTTP 410"), NOW, 0.5) == ("failed", None)
    assert verdict(POLICY, 4, SendResult(500, 5, "HTTP 500"), NOW, 0.5) == ("failed", None)


def test_jitter_spreads_a_retry_by_at_most_its_fraction() -> None:
    policy = DeliveryPolicy((100.0,), jitter=0.1)
    low = verdict(policy, 1, SendResult(500, 1), NOW, 0.0)[1]
    high = verdict(policy, 1, SendResult(500, 1), NOW, 0.999)[1]
    assert low == NOW + timedelta(seconds=90)
    assert high is not None and NOW + timedelta(seconds=109) < high < NOW + timedelta(seconds=110)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_within_the_schedule(status: int) -> None:
    later = verdict(POLICY, 1, SendResult(status, 1, "busy", retry_after_s=3), NOW, 0.5)
    assert later == ("pending", NOW + timedelta(seconds=3))  # longer than the step, within the schedule
    capped = verdict(POLICY, 1, SendResult(status, 1, "busy", retry_after_s=3600), NOW, 0.5)
    assert capped == ("pending", NOW + timedelta(seconds=4))  # never past the longest step
    sooner = verdict(POLICY, 2, SendResult(status, 1, "busy", retry_after_s=0), NOW, 0.5)
    assert sooner == ("pending", NOW + timedelta(seconds=2))  # never sooner than the schedule
    ignored = verdict(POLICY, 1, SendResult(500, 1, "HTTP 500", retry_after_s=3), NOW, 0.5)
    assert ignored == ("pending", NOW + timedelta(seconds=1))


def test_a_deferral_is_no_attempt_and_comes_back_soon() -> None:
    status, next_at = verdict(POLICY, 0, SendResult(None, 0, deferred=True), NOW, 0.5)
    assert status == "pending" and next_at == NOW + timedelta(seconds=1.5)


# The message -----------------------------------------------------------------------------------


def test_the_body_carries_the_log_and_the_signature_verifies_with_standard_webhooks() -> None:
    fired = log(source="test", is_test=True)
    secret = delivery.new_signing_secret()
    request = delivery.signed_request("https://example.com/h", fired, [secret], datetime.now(UTC))
    body = json.loads(request.body)
    assert body == {
        "id": str(fired.id),
        "trigger_id": str(fired.trigger_id),
        "trigger_type": "api",
        "source": "test",
        "is_test": True,
        "scheduled_for": None,
        "fired_at": fired.fired_at.isoformat(),
        "payload": {"key": "value", "n": 3},
    }
    assert request.headers["webhook-id"] == str(fired.id)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("EventTriggerPlatform/")
    assert Webhook(secret).verify(request.body, request.headers) == body
    with pytest.raises(WebhookVerificationError):
        Webhook(delivery.new_signing_secret()).verify(request.body, request.headers)


def test_two_secrets_give_two_signatures_either_of_which_verifies() -> None:
    old, new = delivery.new_signing_secret(), delivery.new_signing_secret()
    request = delivery.signed_request("https://example.com/h", log(), [new, old], datetime.now(UTC))
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.body, request.headers)


def test_a_secret_is_whsec_and_24_to_64_random_bytes() -> None:
    import base64

    secrets = {delivery.new_signing_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64


def test_the_previous_secret_signs_only_during_its_overlap() -> None:
    secrets = SigningSecrets("whsec_new", "whsec_old", NOW + timedelta(hours=24))
    assert secrets.in_force(NOW) == ["whsec_new", "whsec_old"]
    assert secrets.in_force(NOW + timedelta(hours=24)) == ["whsec_new"]


# The service, on fakes ---------------------------------------------------------------------------


@dataclass
class Row:
    log: EventLog | None
    secrets: SigningSecrets | None
    status: DeliveryStatus = "pending"
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_at: datetime = NOW
    lease: str | None = None
    lease_until: datetime | None = None


class FakeOutbox:
    """The DeliveryStore port in memory."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}

    def put(self, row: Row) -> UUID:
        assert row.log is not None
        self.rows[row.log.id] = row
        return row.log.id

    def claim(self, receipts: dict[UUID, str], now: datetime, lease_until: datetime) -> list[ClaimedDelivery]:
        claimed = []
        for log_id, receipt in receipts.items():
            row = self.rows.get(log_id)
            free = row is not None and (row.lease is None or row.lease == receipt or (row.lease_until or now) <= now)
            if row and row.status == "pending" and row.next_attempt_at <= now and free:
                row.lease, row.lease_until = receipt, lease_until
                claimed.append(
                    ClaimedDelivery(log_id, uuid4(), "https://example.com/h", len(row.attempts), row.log, row.secrets)
                )
        return claimed

    def pending_until(self, log_ids: list[UUID]) -> dict[UUID, datetime]:
        return {
            i: max(self.rows[i].next_attempt_at, self.rows[i].lease_until or NOW)
            for i in log_ids
            if i in self.rows and self.rows[i].status == "pending"
        }

    def record(self, records: list[AttemptRecord]) -> None:
        for record in records:
            row = self.rows[record.log_id]
            row.status, row.lease, row.lease_until = record.status, None, None
            row.next_attempt_at = record.next_attempt_at or row.next_attempt_at
            if record.attempt:
                row.attempts.append(record.attempt)


class ScriptedSender:
    """Answers each request with the next scripted result, remembering the requests."""

    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)
        self.requests: list[WebhookRequest] = []

    def send_all(self, requests: list[WebhookRequest]) -> list[SendResult]:
        self.requests += requests
        return [self.results.pop(0) for _ in requests]


def run(outbox: FakeOutbox, sender: ScriptedSender, clock: ManualClock, *log_ids: UUID) -> list[float | None]:
    outcomes = delivery.deliver(
        [QueuedDelivery(i, f"receipt-{i}") for i in log_ids],
        store=outbox,  # type: ignore[arg-type]
        sender=sender,
        cache=MemoryCache(),
        clock=clock,
        policy=POLICY,
        spread=lambda: 0.5,
    )
    return [outcome.retry_in_s for outcome in outcomes]


def test_failures_come_back_after_their_back_off_and_a_2xx_ends_it_with_every_attempt() -> None:
    clock = ManualClock(NOW)
    outbox = FakeOutbox()
    log_id = outbox.put(Row(log(), SigningSecrets("whsec_" + "A" * 40)))
    sender = ScriptedSender(SendResult(500, 3, "HTTP 500"), SendResult(500, 3, "HTTP 500"), SendResult(200, 3))
    assert run(outbox, sender, clock, log_id) == [1.0]
    assert run(outbox, sender, clock, log_id) == [1.0]  # early: not due, no attempt, back when it is
    clock.advance(timedelta(seconds=1))
    assert run(outbox, sender, clock, log_id) == [2.0]
    clock.advance(timedelta(seconds=2))
    assert run(outbox, sender, clock, log_id) == [None]
    row = outbox.rows[log_id]
    assert row.status == "delivered"
    assert [a.status_code for a in row.attempts] == [500, 500, 200]
    assert {r.headers["webhook-id"] for r in sender.requests} == {str(log_id)}


def test_a_log_past_retention_or_a_deleted_trigger_fails_without_a_request() -> None:
    clock = ManualClock(NOW)
    outbox = FakeOutbox()
    gone = outbox.put(Row(log(), None))
    sender = ScriptedSender()
    assert run(outbox, sender, clock, gone, uuid4()) == [None, None]  # the unknown message is dropped too
    assert outbox.rows[gone].status == "failed"
    assert outbox.rows[gone].attempts[0].error == "the trigger was deleted or has no target any more"
    assert sender.requests == []


def test_a_delivery_held_by_another_consumer_comes_back_when_its_lease_ends() -> None:
    clock = ManualClock(NOW)
    outbox = FakeOutbox()
    log_id = outbox.put(
        Row(log(), SigningSecrets("whsec_" + "A" * 40), lease="other", lease_until=NOW + timedelta(seconds=30))
    )
    assert run(outbox, ScriptedSender(), clock, log_id) == [30.0]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from trigger_platform.adapters.webhook_sender import retry_after_s

    assert retry_after_s("120", NOW) == 120
    assert retry_after_s((NOW + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT"), NOW) == 30
    assert retry_after_s((NOW - timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT"), NOW) == 0
    assert retry_after_s("soon", NOW) is None
    assert retry_after_s(None, NOW) is None


def test_a_bad_retry_schedule_stops_the_settings_from_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from trigger_platform.settings import Settings

    monkeypatch.setenv("DELIVERY_RETRY_SCHEDULE", "5,soon")
    with pytest.raises(ValidationError, match="retry schedule"):
        Settings()
