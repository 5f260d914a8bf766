"""Shared fixtures: a fresh PostgreSQL database for the run, tenants with tokens, and event loading.

Tests use DATABASE_URL / REDIS_URL when set, otherwise the services on 127.0.0.1.
"""

import copy
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from hypothesis import settings

from local.server import LOCAL_ENVIRONMENT

# Tests never assert on wall time, Hypothesis' per-example deadline included: a loaded CI machine
# would make it flaky.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

ROOT = Path(__file__).resolve().parent.parent
for _name, _value in LOCAL_ENVIRONMENT.items():  # as the local runtime runs the handlers
    os.environ.setdefault(_name, _value)
EVENTS = ROOT / "events"
SERVER_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database created for this test run, migrated, and dropped at the end."""
    name = f"etp_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(SERVER_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(SERVER_URL, name)
    os.environ["DATABASE_URL"] = url
    from local.migrations import migrate_with_local_scheduler

    migrate_with_local_scheduler(url)
    yield url
    from trigger_platform.edge import wiring

    wiring.database().close()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


class Tenant:
    def __init__(self, tenant_id: uuid.UUID, token: str) -> None:
        self.id = tenant_id
        self.token = token

    @property
    def authorization(self) -> str:
        return f"Bearer {self.token}"


@pytest.fixture
def make_tenant(database_url: str) -> Any:
    """Factory: a new tenant with its own token."""
    from trigger_platform.auth import create_tenant
    from trigger_platform.edge import wiring

    def make() -> Tenant:
        tenant_id, token = create_tenant(f"tenant-{uuid.uuid4().hex[:8]}", tokens=wiring.token_store())
        return Tenant(tenant_id, token)

    return make


@pytest.fixture
def tenant(make_tenant: Any) -> Tenant:
    return make_tenant()  # type: ignore[no-any-return]


def load_event(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


def api_event(
    name: str,
    tenant: Tenant | None,
    trigger_id: str | None = None,
    body: Any = ...,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    log_id: str | None = None,
) -> dict[str, Any]:
    """A sample API Gateway event from events/, addressed to ``tenant`` and the given ids."""
    event = load_event(name)
    if tenant is None:
        event["requestContext"].pop("authorizer", None)
    else:
        event["requestContext"]["authorizer"]["tenant_id"] = str(tenant.id)
        event["requestContext"]["authorizer"]["principalId"] = str(tenant.id)
    ids = {name: value for name, value in (("trigger_id", trigger_id), ("log_id", log_id)) if value is not None}
    if ids:
        event["path"] = event["resource"]
        for id_name, value in ids.items():
            event["path"] = event["path"].replace(f"{{{id_name}}}", value)
        event["pathParameters"] = ids
    if body is not ...:
        event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    if query is not None:
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    for header, value in (headers or {}).items():
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    return event


UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:1/nowhere"


def database_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every handler in this process finds the database unreachable until the patch is undone."""
    from local.schedules import LocalScheduler
    from trigger_platform.adapters.partitions import LogPartitions
    from trigger_platform.adapters.postgres import Database
    from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
    from trigger_platform.edge import wiring

    unreachable = Database(lambda: UNREACHABLE_URL, connect_timeout_s=1)
    unit_of_work = PostgresUnitOfWork(unreachable, LogPartitions(unreachable), lambda: LocalScheduler(unreachable))
    monkeypatch.setattr(wiring, "database", lambda: unreachable)
    monkeypatch.setattr(wiring, "unit_of_work", lambda: unit_of_work)
