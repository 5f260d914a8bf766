"""The local scheduler's tables: a migration set of its own, applied after the platform's by the
local runtime (the Lambda layer never ships them)."""

from trigger_platform.migrations import migrate

TABLE = "local_schema_migrations"


def migrate_with_local_scheduler(dsn: str) -> list[str]:
    """Apply the platform's pending migrations, then the local runtime's; the names applied."""
    return migrate(dsn) + migrate(dsn, __name__, TABLE)
