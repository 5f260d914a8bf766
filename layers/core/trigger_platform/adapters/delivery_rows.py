"""How a delivery's attempts are stored (a JSON array on its outbox row) and read back."""

from datetime import datetime
from typing import Any

from trigger_platform.records import Attempt, Delivery


def attempt_document(attempt: Attempt) -> dict[str, Any]:
    return {
        "at": attempt.at.isoformat(),
        "status_code": attempt.status_code,
        "duration_ms": attempt.duration_ms,
        "error": attempt.error,
    }


def stored_attempts(documents: list[dict[str, Any]] | None) -> tuple[Attempt, ...]:
    return tuple(
        Attempt(datetime.fromisoformat(d["at"]), d["status_code"], d["duration_ms"], d["error"])
        for d in documents or ()
    )


def stored_delivery(status: str | None, count: int | None, next_attempt_at: datetime | None, attempts: Any) -> Delivery:
    """A delivery from its columns (all None when the log has none)."""
    if status is None:
        return Delivery("none", 0, None)
    return Delivery(status, count or 0, next_attempt_at, stored_attempts(attempts))  # type: ignore[arg-type]
