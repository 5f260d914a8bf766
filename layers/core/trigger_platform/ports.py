"""The small interfaces the domain needs; adapters implement them, tests may pass fakes."""

from typing import Protocol
from uuid import UUID

from trigger_platform.clock import Clock
from trigger_platform.models import Trigger

__all__ = ["Clock", "TokenStore", "TriggerStore"]


class TriggerStore(Protocol):
    def insert(self, trigger: Trigger) -> None: ...

    def get(self, tenant_id: UUID, trigger_id: UUID) -> Trigger | None: ...

    def list_after(self, tenant_id: UUID, after: UUID | None, limit: int) -> list[Trigger]:
        """Up to ``limit`` triggers with ids greater than ``after``, in id (creation) order."""
        ...

    def replace(self, trigger: Trigger, expected_version: int | None) -> Trigger | None:
        """Store ``trigger`` with its version bumped, if the stored version is ``expected_version``
        (any version when None); None when nothing matched."""
        ...

    def delete(self, tenant_id: UUID, trigger_id: UUID) -> bool: ...


class TokenStore(Protocol):
    def find_token(self, token_hash: bytes) -> tuple[bytes, UUID] | None:
        """The stored hash and tenant of an unrevoked token with this SHA-256, if any."""
        ...

    def create_tenant(self, name: str) -> UUID: ...

    def tenant_named(self, name: str) -> UUID | None: ...

    def add_token(self, tenant_id: UUID, token_hash: bytes, label: str) -> None:
        """Register a token hash for a tenant; registering the same hash again is a no-op."""
        ...

    def revoke(self, token_hash: bytes) -> bool: ...
