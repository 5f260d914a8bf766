"""PostgreSQL access: one connection per process, reused across warm invocations, replaced when it dies.

Driver errors that mean "the database is not there" become ``ServiceUnavailable`` here, once.
"""

import json
import select
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras

from trigger_platform.errors import QueryTimeout, ServiceUnavailable

psycopg2.extras.register_uuid()  # type: ignore[no-untyped-call]

_CONNECTION_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)
Cursor = psycopg2.extensions.cursor


class Database:
    """A lazily opened autocommit connection; ``transaction()`` for multi-statement work."""

    def __init__(self, dsn: Callable[[], str], connect_timeout_s: int = 3, statement_timeout_ms: int = 5000) -> None:
        self._dsn = dsn
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_ms = statement_timeout_ms
        self._conn: psycopg2.extensions.connection | None = None
        self._depth = 0  # open transaction() blocks; inner ones join the outer transaction

    def _open(self) -> psycopg2.extensions.connection:
        conn = psycopg2.connect(
            self._dsn(),
            connect_timeout=self._connect_timeout_s,
            options=f"-c statement_timeout={self._statement_timeout_ms}",
            application_name="trigger-platform",
            keepalives=1,
            keepalives_idle=30,
        )
        conn.autocommit = True
        return conn

    def _is_dead(self, conn: psycopg2.extensions.connection) -> bool:
        """An idle connection whose socket is readable has been told goodbye (server restart,
        idle timeout): found without a round trip, so a warm request never trips over it."""
        if conn.closed:
            return True
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _connection(self) -> psycopg2.extensions.connection:
        if self._conn is not None and self._depth == 0 and self._is_dead(self._conn):
            self.close()
        if self._conn is None:
            try:
                self._conn = self._open()
            except _CONNECTION_ERRORS as exc:
                raise ServiceUnavailable("The database is not reachable.") from exc
        return self._conn

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """``transaction()`` for callers that need no cursor of their own (the stores' ``atomic``)."""
        with self.transaction():
            yield

    def close(self) -> None:
        if self._conn is not None:
            with suppress(*_CONNECTION_ERRORS):
                self._conn.close()
            self._conn = None

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """Driver errors as domain errors: a query over the statement timeout is the question's
        fault (the connection is fine); any other connection error means the database is gone."""
        try:
            yield
        except psycopg2.errors.QueryCanceled as exc:
            raise QueryTimeout(
                "The query ran longer than the statement timeout; narrow it (a trigger, a shorter time range) "
                "or retry later."
            ) from exc
        except _CONNECTION_ERRORS as exc:
            self.close()
            raise ServiceUnavailable("The database is not reachable.") from exc

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """A cursor in autocommit mode: each statement is its own transaction (one round trip)."""
        conn = self._connection()
        with self._driver_errors(), conn.cursor() as cur:
            yield cur

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A cursor inside BEGIN … COMMIT, rolled back if the block raises. Statements run through
        ``cursor()`` inside the block, and nested ``transaction()`` blocks, join this transaction."""
        conn = self._connection()
        outermost = self._depth == 0
        self._depth += 1
        try:
            with self._driver_errors(), conn.cursor() as cur:
                if outermost:
                    cur.execute("BEGIN")
                try:
                    yield cur
                except BaseException:
                    if outermost and not conn.closed:
                        cur.execute("ROLLBACK")
                    raise
                if outermost:
                    cur.execute("COMMIT")
        finally:
            self._depth -= 1


def utf8_json(value: object) -> str:
    """JSON for a jsonb parameter as UTF-8 text: a non-ASCII character costs its own bytes, not a
    6- or 12-byte escape."""
    return json.dumps(value, ensure_ascii=False)


def as_columns(rows: Sequence[Any], *attributes: str) -> tuple[list[Any], ...]:
    """One list per attribute of ``rows``: the arrays a statement ``unnest``s into a set of rows, so
    a batch is written in one round trip. UUIDs go as text (the statement casts them): psycopg2
    adapts a str in C and a UUID in Python, a cost per value that adds up over a batch."""
    return tuple(
        [str(value) if isinstance(value, UUID) else value for value in (getattr(row, attribute) for row in rows)]
        for attribute in attributes
    )
