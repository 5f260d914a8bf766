"""The PostgreSQL adapter's connection handling and the migrations against a real server."""

import psycopg2
import pytest

from trigger_platform.adapters.postgres import Database
from trigger_platform.errors import ServiceUnavailable
from trigger_platform.migrations import migrate, migration_files


def test_migrations_are_recorded_and_idempotent(database_url: str) -> None:
    assert migrate(database_url) == []
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in cur.fetchall()] == [v for v, _, _ in migration_files()]


def test_unreachable_database_is_service_unavailable() -> None:
    db = Database(lambda: "postgresql://postgres@127.0.0.1:1/nowhere", connect_timeout_s=1)
    with pytest.raises(ServiceUnavailable), db.cursor() as cur:
        cur.execute("SELECT 1")


def test_a_connection_killed_by_the_server_is_replaced_on_next_use(database_url: str) -> None:
    db = Database(lambda: database_url)
    with db.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        (first_pid,) = cur.fetchone() or (None,)
    with psycopg2.connect(database_url) as admin, admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s, 5000)", (first_pid,))
    with db.cursor() as cur:  # the warm connection is found dead before it is used
        cur.execute("SELECT pg_backend_pid()")
        (second_pid,) = cur.fetchone() or (None,)
    assert second_pid != first_pid
    db.close()


def test_transaction_rolls_back_when_the_block_raises(database_url: str) -> None:
    db = Database(lambda: database_url)
    with db.cursor() as cur:
        cur.execute("CREATE TEMP TABLE scratch (n int)")
    with pytest.raises(RuntimeError), db.transaction() as cur:
        cur.execute("INSERT INTO scratch VALUES (1)")
        raise RuntimeError("boom")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM scratch")
        assert cur.fetchone() == (0,)
    db.close()
