"""Drift repair between triggers and their schedules, for after a failure left them apart.

A live scheduled trigger (active, not yet completed) must have a schedule; a schedule must belong
to such a trigger. ``reconcile`` lists both kinds of drift and, unless asked only to look,
re-creates missing schedules and deletes orphaned ones. Every step is idempotent, so it is safe to
run at any time, including while the API is serving.
"""

from dataclasses import dataclass, field
from uuid import UUID

from trigger_platform.ports import Scheduler, TriggerStore


@dataclass
class Drift:
    missing: list[UUID] = field(default_factory=list)
    orphaned: list[UUID] = field(default_factory=list)
    repaired: bool = False


def reconcile(*, store: TriggerStore, scheduler: Scheduler, repair: bool = True) -> Drift:
    live = {trigger.id: trigger for trigger in store.live_scheduled()}
    scheduled = scheduler.trigger_ids()
    drift = Drift(missing=sorted(set(live) - scheduled), orphaned=sorted(scheduled - set(live)))
    if repair:
        for trigger_id in drift.missing:
            scheduler.replace(live[trigger_id])
        for trigger_id in drift.orphaned:
            scheduler.delete(trigger_id)
        drift.repaired = True
    return drift
