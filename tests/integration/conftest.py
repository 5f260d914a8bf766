"""Handlers invoked in process, as template.yaml wires them, against the run's fresh database."""

import json
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from local.server import FunctionHost
from local.template import load_template
from tests.conftest import ROOT
from trigger_platform.adapters.postgres import Database

Invoke = Callable[[str, dict[str, Any]], Any]
T = TypeVar("T")


@pytest.fixture(scope="session")
def invoke(database_url: str) -> Invoke:
    """Call a function of template.yaml by logical id with an event, like Lambda would."""
    template = load_template(ROOT / "template.yaml")
    host = FunctionHost()

    def call(logical_id: str, event: dict[str, Any]) -> Any:
        return host.invoke(template.functions[logical_id], event)

    return call


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def header(response: dict[str, Any], name: str) -> str | None:
    values = (response.get("multiValueHeaders") or {}).get(name) or []
    return values[0] if values else (response.get("headers") or {}).get(name)


def concurrently(count: int, database_url: str, work: Callable[[Database], T]) -> list[T]:
    """``work`` run by ``count`` threads released at once, each on a connection of its own."""
    start, results = threading.Barrier(count), list[T]()

    def run() -> None:
        db = Database(lambda: database_url)
        try:
            start.wait()
            results.append(work(db))
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
