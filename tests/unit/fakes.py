"""In-memory fakes of the ports, so the domain's rules are tested without a database.

They keep the ports' promises that the domain relies on — tenant scoping, version checks,
exactly-once keys, and a unit of work that rolls everything back when its block raises — and
nothing more.
"""

import copy
from dataclasses import replace
from datetime import datetime
from types import TracebackType
from typing import Self
from uuid import UUID

from trigger_platform.errors import CacheUnavailable, ServiceUnavailable
from trigger_platform.lifecycle import Selection, includes
from trigger_platform.records import (
    AggregateRow,
    ApiFireRecord,
    Crossing,
    DeliveryStatus,
    EarlierFire,
    EventLog,
    IdempotencyClaim,
    ScheduleProgress,
    TenantUsage,
    Trigger,
)
from trigger_platform.schedules import is_recurring


class FakeTriggerStore:
    def __init__(self) -> None:
        self.rows: dict[UUID, Trigger] = {}

    def insert(self, trigger: Trigger) -> None:
        assert trigger.id not in self.rows
        self.rows[trigger.id] = trigger

    def usage(self, tenant_id: UUID) -> TenantUsage:
        mine = [t for t in self.rows.values() if t.tenant_id == tenant_id]
        recurring = [t for t in mine if t.is_scheduled and t.definition.enabled and t.status == "active"]
        return TenantUsage(len(mine), sum(is_recurring(t.definition.schedule) for t in recurring))  # type: ignore[union-attr]

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None:
        found = self.rows.get(trigger_id)
        return found if found and found.tenant_id == tenant_id else None

    def get_many(self, keys: list[tuple[UUID, UUID]]) -> dict[UUID, Trigger]:
        return {trigger_id: t for tenant_id, trigger_id in keys if (t := self.get(tenant_id, trigger_id))}

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        mine = sorted((t for t in self.rows.values() if t.tenant_id == tenant_id), key=lambda t: t.id)
        return [t for t in mine if after is None or t.id > after][:limit]

    def replace(self, trigger: Trigger, expected_version: int) -> Trigger | None:
        current = self.get(trigger.tenant_id, trigger.id)
        if current is None or current.version != expected_version:
            return None
        stored = replace(trigger, version=current.version + 1)
        self.rows[trigger.id] = stored
        return stored

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool:
        return self.rows.pop(trigger_id, None) is not None if self.get(tenant_id, trigger_id) else False

    def live_scheduled(self) -> list[Trigger]:
        return [t for t in self.rows.values() if t.is_scheduled and t.status == "active"]

    def move_on(self, update: ScheduleProgress) -> None:
        """What a scheduled fire does to its trigger, while its schedule is the one it names."""
        current = self.get(update.tenant_id, update.trigger_id)
        if current is not None and current.armed_version == update.armed_version:
            self.rows[current.id] = replace(current, status=update.status, next_fire_at=update.next_fire_at)


class FakeLogStore:
    def __init__(self, triggers: FakeTriggerStore | None = None) -> None:
        self.triggers = triggers or FakeTriggerStore()
        self.logs: list[EventLog] = []
        self.scheduled: set[tuple[UUID | None, datetime | None]] = set()
        self.keys: dict[tuple[UUID, str], tuple[bytes, UUID, datetime]] = {}
        self.down = False

    def _available(self) -> None:
        if self.down:
            raise ServiceUnavailable("The database is not reachable.")

    def insert(self, log: EventLog) -> None:
        self._available()
        self.logs.append(log)

    def record_scheduled_fires(self, fired: list[tuple[EventLog, ScheduleProgress]]) -> set[UUID]:
        self._available()
        inserted: dict[UUID, tuple[EventLog, ScheduleProgress]] = {}
        for log, progress in fired:
            if (log.trigger_id, log.scheduled_for) not in self.scheduled:
                self.scheduled.add((log.trigger_id, log.scheduled_for))
                self.logs.append(log)
                inserted[log.id] = (log, progress)
        latest: dict[UUID | None, tuple[EventLog, ScheduleProgress]] = {}
        for log, progress in inserted.values():
            if log.trigger_id not in latest or latest[log.trigger_id][0].scheduled_for < log.scheduled_for:  # type: ignore[operator]
                latest[log.trigger_id] = (log, progress)
        for _, progress in latest.values():
            self.triggers.move_on(progress)
        return set(inserted)

    def record_api_fire(self, log: EventLog, trigger_version: int, claim: IdempotencyClaim | None) -> ApiFireRecord:
        self._available()
        trigger = self.triggers.rows.get(log.trigger_id) if log.trigger_id else None  # a check, not a read
        if trigger is None or trigger.tenant_id != log.tenant_id or trigger.version != trigger_version:
            return "stale"
        if claim is not None:
            earlier = self.keys.get((log.tenant_id, claim.key))
            if earlier is not None and earlier[2] > claim.expired_at:
                return EarlierFire(earlier[0], earlier[1])
            self.keys[(log.tenant_id, claim.key)] = (claim.request_hash, log.id, log.fired_at)
        self.logs.append(log)
        return "logged"

    def get(self, tenant_id: UUID, log_id: UUID, fired_not_before: datetime) -> EventLog | None:
        return next(
            (
                log
                for log in self.logs
                if log.id == log_id and log.tenant_id == tenant_id and log.fired_at >= fired_not_before
            ),
            None,
        )

    def _selected(self, tenant_id: UUID, selection: Selection) -> list[EventLog]:
        return [
            log
            for log in self.logs
            if log.tenant_id == tenant_id
            and includes(selection.window, log.fired_at)
            and selection.trigger_id in (None, log.trigger_id)
            and selection.source in (None, log.source)
        ]

    def list_page(
        self,
        tenant_id: UUID,
        selection: Selection,
        before: tuple[datetime, UUID] | None,
        limit: int,
        delivery: DeliveryStatus | None = None,
    ) -> list[EventLog]:
        newest_first = sorted(self._selected(tenant_id, selection), key=lambda log: (log.fired_at, log.id))[::-1]
        return [
            log
            for log in newest_first
            if (before is None or (log.fired_at, log.id) < before)
            and delivery in (None, log.delivery.status if log.delivery else "none")
        ][:limit]

    def oldest_fired_at(self, tenant_id: UUID, selection: Selection) -> datetime | None:
        return min((log.fired_at for log in self._selected(tenant_id, selection)), default=None)

    def aggregate(self, tenant_id: UUID, selection: Selection, active_after: datetime) -> list[AggregateRow]:
        groups: dict[tuple[UUID | None, str, str], list[EventLog]] = {}
        for log in self._selected(tenant_id, selection):
            groups.setdefault((log.trigger_id, log.trigger_type, log.source), []).append(log)
        return [
            AggregateRow(
                group_trigger,
                trigger_type,  # type: ignore[arg-type]
                source,  # type: ignore[arg-type]
                sum(log.fired_at > active_after for log in logs),
                len(logs),
                max(log.fired_at for log in logs),
            )
            for (group_trigger, trigger_type, source), logs in groups.items()
        ]

    def crossings(
        self, tenant_id: UUID, selection: Selection, ranges: list[tuple[datetime, datetime]], limit: int
    ) -> list[list[Crossing]]:
        selected = sorted(self._selected(tenant_id, selection), key=lambda log: log.fired_at)
        return [
            [
                Crossing(log.fired_at, log.trigger_id, log.trigger_type, log.source, log.delivery.status)
                for log in selected
                if after < log.fired_at <= not_after
            ][:limit]
            for after, not_after in ranges
        ]


class FakeScheduler:
    def __init__(self) -> None:
        self.schedules: dict[UUID, Trigger] = {}
        self.calls: list[str] = []
        self.failing = False

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if self.failing:
            raise ServiceUnavailable("The scheduler is not reachable.")

    def create(self, trigger: Trigger) -> None:
        self._call("create")
        self.schedules[trigger.id] = trigger

    def replace(self, trigger: Trigger) -> None:
        self._call("replace")
        self.schedules[trigger.id] = trigger

    def delete(self, trigger_id: UUID) -> None:
        self._call("delete")
        self.schedules.pop(trigger_id, None)

    def trigger_ids(self) -> set[UUID]:
        return set(self.schedules)


class FakeUnitOfWork:
    """Everything written inside a ``with`` block is undone if the block raises."""

    def __init__(self) -> None:
        self.triggers = FakeTriggerStore()
        self.logs = FakeLogStore(self.triggers)
        self.scheduler = FakeScheduler()
        self._saved: list[tuple[object, ...]] = []
        self.commits = 0

    def __enter__(self) -> Self:
        self._saved.append(self._state())
        return self

    def _state(self) -> tuple[object, ...]:
        return tuple(
            copy.copy(part)
            for part in (self.triggers.rows, self.logs.logs, self.logs.scheduled, self.scheduler.schedules)
        )

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        saved = self._saved.pop()
        if error is not None:
            self.triggers.rows, self.logs.logs, self.logs.scheduled, self.scheduler.schedules = saved  # type: ignore[assignment]
        elif not self._saved:
            self.commits += 1


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.generations: dict[UUID, int] = {}
        self.down = False

    def _available(self) -> None:
        if self.down:
            raise CacheUnavailable("down")

    def get(self, key: str) -> str | None:
        self._available()
        return self.entries.get(key)

    def set(self, key: str, value: str, ttl_s: float) -> None:
        self._available()
        self.entries[key] = value

    def generation(self, tenant_id: UUID) -> int:
        self._available()
        return self.generations.get(tenant_id, 0)

    def bump_generation(self, tenant_id: UUID) -> None:
        self._available()
        self.generations[tenant_id] = self.generations.get(tenant_id, 0) + 1

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        return self.generation(tenant_id), self.get(key)
