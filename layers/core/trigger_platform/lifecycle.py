"""The event-log lifecycle: ``active`` while younger than 2 h, ``archived`` until 48 h, then gone.

Pure rules of time, shared by the reads (which apply them to the second), the retention cron and
the stores (which take a ``Window`` of fired_at values to read).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from trigger_platform.records import LogSource

ACTIVE_FOR = timedelta(hours=2)
RETAINED_FOR = timedelta(hours=48)
#: Reads look this far past their own clock, for logs written by a function whose clock runs ahead;
#: it also keeps the partitions made ahead of time out of every read.
CLOCK_SKEW = timedelta(minutes=1)

LogState = Literal["active", "archived"]


def state_of(fired_at: datetime, now: datetime) -> LogState | None:
    """The lifecycle state of a log fired at ``fired_at``; None once it is gone."""
    age = now - fired_at
    if age < ACTIVE_FOR:
        return "active"
    if age < RETAINED_FOR:
        return "archived"
    return None


def next_change(fired_at: datetime, now: datetime) -> datetime:
    """When the state of a log fired at ``fired_at`` next changes."""
    return fired_at + (ACTIVE_FOR if now - fired_at < ACTIVE_FOR else RETAINED_FOR)


@dataclass(frozen=True)
class Window:
    """Which fired_at values a read may see: ``after`` < fired_at ≤ ``not_after``, and
    ``since`` ≤ fired_at < ``until`` when the client narrows it further."""

    after: datetime
    not_after: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None


def window(now: datetime, state: LogState | None, since: datetime | None, until: datetime | None) -> Window:
    """The fired_at values a read at ``now`` of logs in ``state`` (any state when None) may see."""
    if state == "active":
        return Window(after=now - ACTIVE_FOR, not_after=now + CLOCK_SKEW, since=since, until=until)
    if state == "archived":
        return Window(after=now - RETAINED_FOR, not_after=now - ACTIVE_FOR, since=since, until=until)
    return Window(after=now - RETAINED_FOR, not_after=now + CLOCK_SKEW, since=since, until=until)


def extent(window: Window) -> tuple[datetime, datetime | None]:
    """The lowest and highest fired_at ``window`` bounds (None: no upper bound)."""
    lowest = max(window.after, window.since) if window.since else window.after
    return lowest, min(filter(None, (window.not_after, window.until)), default=None)


def includes(window: Window, fired_at: datetime) -> bool:
    """Whether a log fired at ``fired_at`` is in ``window``."""
    return (
        fired_at > window.after
        and (window.not_after is None or fired_at <= window.not_after)
        and (window.since is None or fired_at >= window.since)
        and (window.until is None or fired_at < window.until)
    )


#: A log fired at f enters or leaves some read's window, or turns archived, exactly when the clock
#: reaches f + one of these: 48 h (gone), 2 h (archived), and -CLOCK_SKEW (a log written by a clock
#: running ahead comes into view).
STATE_CHANGES_AFTER = (RETAINED_FOR, ACTIVE_FOR, -CLOCK_SKEW)


@dataclass(frozen=True)
class Selection:
    """Which of a tenant's logs a read may see: a window of fired_at values and, when the client
    narrows it, one trigger or one source."""

    window: Window
    trigger_id: UUID | None = None
    source: LogSource | None = None
