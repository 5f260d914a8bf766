"""The UnitOfWork port over one PostgreSQL connection: both stores write through it, and a ``with``
block is one transaction, which the scheduler takes part in (the local one writes to the same
database; EventBridge is called inside the block, so its failure rolls the block back)."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Self

from trigger_platform.adapters.delivery_store import PostgresDeliveryStore
from trigger_platform.adapters.log_store import PostgresLogStore
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.trigger_store import PostgresTriggerStore
from trigger_platform.ports import Scheduler


class PostgresUnitOfWork:
    def __init__(self, db: Database, partitions: LogPartitions, scheduler: Callable[[], Scheduler]) -> None:
        """``scheduler`` is called on first use, so functions that never schedule never build one."""
        self._db = db
        self.triggers = PostgresTriggerStore(db)
        self.logs = PostgresLogStore(db, partitions)
        self.deliveries = PostgresDeliveryStore(db)
        self._make_scheduler = scheduler
        self._open: list[AbstractContextManager[None]] = []

    @property
    def scheduler(self) -> Scheduler:
        return self._make_scheduler()

    def __enter__(self) -> Self:
        transaction = self._db.atomic()
        transaction.__enter__()
        self._open.append(transaction)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._open.pop().__exit__(kind, error, traceback)
