"""Plain-SQL migrations: numbered files applied once each, in order, recorded in ``schema_migrations``.

Safe to run again and from two processes at once (an advisory lock serialises them).
"""

from importlib import resources

import psycopg2

_LOCK_KEY = 7_242_001  # any constant shared by every migrating process


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every ``NNNN_name.sql`` shipped in the package, by version."""
    found = []
    for entry in resources.files("trigger_platform.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def migrate(dsn: str) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    applied: list[str] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cur.fetchall()}
            for version, name, sql in migration_files():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied.append(name)
    finally:
        conn.close()
    return applied
