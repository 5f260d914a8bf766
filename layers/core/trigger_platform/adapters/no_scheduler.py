"""The Scheduler port where nothing can arm a timer: under ``sam local`` there is no EventBridge
Scheduler (and the local runtime's is not in the Lambda layer). Scheduled triggers are stored with
their next fire time as everywhere, and fire only when FireScheduledFunction is invoked by hand."""

from uuid import UUID

from trigger_platform.records import Trigger


class NoScheduler:
    def create(self, trigger: Trigger) -> None:
        return None

    def replace(self, trigger: Trigger) -> None:
        return None

    def delete(self, trigger_id: UUID) -> None:
        return None

    def trigger_ids(self) -> set[UUID]:
        return set()
