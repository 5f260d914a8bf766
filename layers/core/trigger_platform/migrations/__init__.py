"""Plain-SQL migrations: numbered files applied once each, in order, recorded in a table.

The platform's own live here (recorded in ``schema_migrations``); the local runtime keeps its
scheduler's tables in a set of its own with the same mechanism. Safe to run again and from two
processes at once (an advisory lock serialises them). Version 3 is gone from this set: it held the
local scheduler's tables, which moved to the local runtime; databases that applied it keep them.
"""

from importlib import resources

import psycopg2
from psycopg2 import sql

_LOCK_KEY = 7_242_001  # any constant shared by every migrating process
PLATFORM = "trigger_platform.migrations"


def migration_files(package: str = PLATFORM) -> list[tuple[int, str, str]]:
    """(version, name, sql) for every ``NNNN_name.sql`` shipped in ``package``, by version."""
    found = []
    for entry in resources.files(package).iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text()))
    return sorted(found)


def migrate(dsn: str, package: str = PLATFORM, table: str = "schema_migrations") -> list[str]:
    """Apply ``package``'s pending migrations, recorded in ``table``; returns the names applied."""
    applied: list[str] = []
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute(
                sql.SQL(
                    """
                    CREATE TABLE IF NOT EXISTS {} (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """
                ).format(sql.Identifier(table))
            )
            cur.execute(sql.SQL("SELECT version FROM {}").format(sql.Identifier(table)))
            done = {row[0] for row in cur.fetchall()}
            for version, name, text in migration_files(package):
                if version in done:
                    continue
                cur.execute(text)
                cur.execute(
                    sql.SQL("INSERT INTO {} (version, name) VALUES (%s, %s)").format(sql.Identifier(table)),
                    (version, name),
                )
                applied.append(name)
    finally:
        conn.close()
    return applied
