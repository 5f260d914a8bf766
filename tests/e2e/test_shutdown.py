"""Graceful shutdown: SIGTERM (twice, as make forwards it) stops accepting, lets the request in
flight finish, stops the scheduler after its batch, and exits 0 without a traceback."""

import json
import os
import signal
import socket
import time
from pathlib import Path

from tests.conftest import Tenant
from tests.e2e.conftest import SHARED_TOKEN, start_runtime
from tests.e2e.test_http_hygiene import Wire, request_head


def test_sigterm_finishes_the_request_in_flight_refuses_new_ones_and_exits_0(
    database_url: str, make_tenant: object, tmp_path: Path
) -> None:
    tenant: Tenant = make_tenant()  # type: ignore[operator]
    log_path = tmp_path / "runtime.log"
    runtime = start_runtime(
        {"DATABASE_URL": database_url, "API_TOKEN": SHARED_TOKEN, "LOCAL_DATA_DIR": str(tmp_path)}, log_path
    )
    assert runtime.request("GET", "/health").status == 200  # the workers are up
    body = json.dumps({"type": "api", "payload": {"key": "value"}}).encode()
    in_flight = Wire(runtime)
    in_flight.send(
        request_head("POST", "/triggers", tenant, "Content-Type: application/json", f"Content-Length: {len(body)}")
        + body[:10]
    )
    time.sleep(0.5)  # the worker has the head and waits for the rest of the body
    runtime.process.send_signal(signal.SIGTERM)
    runtime.process.send_signal(signal.SIGTERM)
    refused = _refused_within(runtime.port, 5)
    in_flight.send(body[10:])
    answer = in_flight.answer()
    in_flight.close()
    status = runtime.process.wait(timeout=20)

    output = log_path.read_text()
    assert answer.status == 201, answer.body
    assert refused, "a new connection was accepted after SIGTERM"
    assert status == 0, output[-3000:]
    for sign in ("Traceback", "KeyboardInterrupt"):
        assert sign not in output, output[-3000:]
    assert not _alive(runtime.process.pid), "a process of the runtime outlived it"


def _refused_within(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.1)
    return False


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
