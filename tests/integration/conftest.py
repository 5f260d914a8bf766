"""Handlers invoked in process, as template.yaml wires them, against the run's fresh database."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from local.server import FunctionHost
from local.template import load_template
from tests.conftest import ROOT

Invoke = Callable[[str, dict[str, Any]], Any]


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
