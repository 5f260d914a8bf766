"""What every benchmark shares: a database of its own on the server, dropped at the end."""

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from trigger_platform.edge import wiring
from trigger_platform.migrations import migrate

SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_database(prefix: str = "etp_bench", migrated: bool = True) -> Iterator[str]:
    """A database of its own, made the one every handler uses (migrated unless the local runtime
    will migrate it); dropped at the end, whatever happened."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))
        if migrated:
            migrate(url)
        os.environ["DATABASE_URL"] = url
        yield url
    finally:
        with contextlib.suppress(Exception):
            wiring.database().close()
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
