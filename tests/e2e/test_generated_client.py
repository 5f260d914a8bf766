"""The README tour through a client that ``openapi-python-client`` generates from openapi.yaml with
its default settings, against the local runtime.

The client is generated into a temporary directory for the test and imported from there; nothing of
it is committed. Its function names come from the operationIds and its modules from the tags, so
this test is also what holds the spec to names a generator turns into a good client
(``api.triggers.create_trigger``, ``api.logs.list_logs``, …).
"""

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from local.openapi import SPEC_FILES
from tests.conftest import Tenant
from tests.e2e.conftest import Runtime

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
#: Where each operation lands: ``api/<tag>/<operationId in snake case>.py``.
OPERATIONS = {
    "create_trigger": "triggers",
    "list_triggers": "triggers",
    "get_trigger": "triggers",
    "replace_trigger": "triggers",
    "delete_trigger": "triggers",
    "fire_trigger": "firing",
    "test_definition": "firing",
    "test_trigger": "firing",
    "list_logs": "logs",
    "get_log": "logs",
    "aggregate_logs": "logs",
}


class GeneratedClient:
    """The generated package: its client class, its models and one module per operation."""

    def __init__(self, package: str) -> None:
        self.package = importlib.import_module(package)
        self.models = importlib.import_module(f"{package}.models")
        self.operations = {
            name: importlib.import_module(f"{package}.api.{tag}.{name}") for name, tag in OPERATIONS.items()
        }

    def call(self, operation: str, client: Any, *args: Any, **kwargs: Any) -> Any:
        """``sync_detailed``: the parsed body and the status and headers too."""
        return self.operations[operation].sync_detailed(*args, client=client, **kwargs)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedClient]:
    """Generate the client, as a user would, and import it from where it was written."""
    workdir = tmp_path_factory.mktemp("generated-client")
    output = workdir / "client"
    # The generator runs ruff on what it writes: the venv's ruff, found on PATH.
    environment = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(  # noqa: S603 - the venv's own generator on our own spec
        [str(GENERATOR), "generate", "--path", str(SPEC_FILES[0]), "--output-path", str(output)],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"openapi-python-client failed on openapi.yaml:\n{said}"
    assert "warning" not in said.lower(), f"openapi-python-client warned about openapi.yaml:\n{said}"
    (package_dir,) = (path.parent for path in output.glob("*/client.py"))
    sys.path.insert(0, str(output))
    try:
        yield GeneratedClient(package_dir.name)
    finally:
        sys.path.remove(str(output))
        for name in [name for name in sys.modules if name.split(".")[0] == package_dir.name]:
            del sys.modules[name]


def next_cursor(link: str) -> str:
    """The cursor of a ``Link: <url>; rel="next"`` header."""
    url = link.split(";", maxsplit=1)[0].strip().strip("<>")
    return parse_qs(urlsplit(url).query)["cursor"][0]


def test_the_readme_tour_through_the_generated_client(
    generated: GeneratedClient, runtime: Runtime, http_tenant: Tenant
) -> None:
    models, call = generated.models, generated.call
    client = generated.package.AuthenticatedClient(base_url=runtime.base_url, token=http_tenant.token)
    http = client.get_httpx_client()

    # Create both kinds; each answer says where the trigger lives, and that URL answers.
    scheduled_body = {"type": "scheduled", "schedule": {"interval": 30, "unit": "minutes", "is_recurring": False}}
    created = call("create_trigger", client, body=models.ScheduledDefinition.from_dict(scheduled_body))
    assert created.status_code == 201, created.content
    assert isinstance(created.parsed, models.TriggerCreated)
    scheduled_id = str(created.parsed.id)
    assert http.get(urljoin(f"{runtime.base_url}/", created.headers["Location"])).json()["id"] == scheduled_id
    assert created.parsed.trigger.details.next_fire_at is not None

    api_body = {"type": "api", "payload": {"key": "value"}}
    created_api = call("create_trigger", client, body=models.ApiDefinition.from_dict(api_body))
    assert created_api.status_code == 201, created_api.content
    api_id = str(created_api.parsed.id)
    endpoint = created_api.parsed.trigger.details.endpoint

    # List a page at a time, following the Link header's cursor.
    first = call("list_triggers", client, limit=1)
    assert first.status_code == 200 and len(first.parsed) == 1
    second = call("list_triggers", client, limit=1, cursor=next_cursor(first.headers["Link"]))
    assert second.status_code == 200
    assert {str(trigger.id) for trigger in [*first.parsed, *second.parsed]} == {scheduled_id, api_id}

    # Read, then replace with If-Match; a stale version is refused.
    read = call("get_trigger", client, scheduled_id)
    assert read.status_code == 200 and isinstance(read.parsed, models.TriggerView)
    etag = read.headers["ETag"]
    recurring = {"type": "scheduled", "schedule": {"interval": 2, "unit": "hours", "is_recurring": True}}
    replaced = call(
        "replace_trigger",
        client,
        scheduled_id,
        body=models.ScheduledDefinition.from_dict({**recurring, "enabled": False}),
        if_match=etag,
    )
    assert replaced.status_code == 200, replaced.content
    assert replaced.parsed.enabled is False and replaced.parsed.version == read.parsed.version + 1
    stale = call(
        "replace_trigger", client, scheduled_id, body=models.ScheduledDefinition.from_dict(recurring), if_match=etag
    )
    assert stale.status_code == 412 and isinstance(stale.parsed, models.Problem)

    # Fire at the endpoint the trigger names, then through the client with an Idempotency-Key: once.
    assert http.post(urljoin(f"{runtime.base_url}/", endpoint), json={"key": "direct"}).status_code == 201
    fire_body = models.FireTriggerBody.from_dict({"key": "other"})
    fired = call("fire_trigger", client, api_id, body=fire_body, idempotency_key="order-42")
    again = call("fire_trigger", client, api_id, body=fire_body, idempotency_key="order-42")
    assert (fired.status_code, again.status_code) == (201, 201), (fired.content, again.content)
    assert again.parsed.id == fired.parsed.id and again.headers["Idempotent-Replayed"] == "true"
    refused = call("fire_trigger", client, api_id, body=models.FireTriggerBody.from_dict({"key": 5}))
    assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
    assert any("key" in error.field for error in refused.parsed.errors), refused.content

    # Both manual tests.
    tested_definition = call("test_definition", client, body=models.ApiDefinition.from_dict(api_body))
    tested_trigger = call("test_trigger", client, api_id)
    for tested in (tested_definition, tested_trigger):
        assert tested.status_code == 201 and tested.parsed.status.value == "success", tested.content

    # Logs, one log, the counts; then delete, after which the trigger is gone.
    logs = call("list_logs", client, trigger_id=api_id)
    assert logs.status_code == 200 and logs.headers["X-Cache"] in {"hit", "miss", "bypass"}
    assert str(fired.parsed.id) in {str(log.id) for log in logs.parsed}
    one = call("get_log", client, str(fired.parsed.id))
    assert one.status_code == 200 and one.parsed.source.value == "api" and one.parsed.payload["key"] == "other"
    counts = call("aggregate_logs", client)
    assert counts.status_code == 200
    assert counts.parsed.totals.total == 4  # fired twice (a replay fires nothing), tested twice
    assert (counts.parsed.by_source.api.total, counts.parsed.by_source.test.total) == (2, 2)

    deleted = call("delete_trigger", client, scheduled_id)
    assert deleted.status_code == 204
    gone = call("get_trigger", client, scheduled_id)
    assert gone.status_code == 404 and isinstance(gone.parsed, models.Problem)
