"""HTTP hygiene of the self-hosted runtime, over raw sockets: no request smuggling, bounded heads,
bodies, waits and connections, and problem+json for every refusal."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Tenant
from tests.e2e.conftest import SHARED_TOKEN, Runtime, start_runtime, stop_runtime

MIB = 1024 * 1024


class Answer:
    """One HTTP/1.1 response read off a socket."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def problem(self) -> dict[str, object]:
        assert self.headers.get("content-type") == "application/problem+json", self.headers
        document: dict[str, object] = json.loads(self.body)
        assert document["status"] == self.status
        return document


class Wire:
    """A raw connection: send bytes, read whole responses (framed by Content-Length), see it close."""

    def __init__(self, runtime: Runtime, timeout_s: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", runtime.port), timeout=timeout_s)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before a response: {self.buffer!r}")
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise ConnectionError("closed inside a response body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(int(status_line.split()[1]), headers, body)

    def closed_within(self, seconds: float) -> bool:
        """Whether the server closes the connection within ``seconds`` without answering anything."""
        self.sock.settimeout(seconds)
        try:
            return not self._fill() and not self.buffer
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def wire(runtime: Runtime) -> Iterator[Wire]:
    connection = Wire(runtime)
    yield connection
    connection.close()


def request_head(method: str, path: str, tenant: Tenant | None, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if tenant is not None:
        lines.append(f"Authorization: {tenant.authorization}")
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode()


def chunked(body: bytes, size: int = 7) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"


def test_a_chunked_body_is_decoded_and_the_next_request_on_the_connection_is_its_own(
    wire: Wire, http_tenant: Tenant, runtime: Runtime
) -> None:
    definition = json.dumps({"type": "api", "payload": {"key": "value"}}).encode()
    wire.send(
        request_head("POST", "/triggers", http_tenant, "Content-Type: application/json", "Transfer-Encoding: chunked")
        + chunked(definition)
        + request_head("GET", "/triggers", http_tenant)
    )
    created = wire.answer()
    assert created.status == 201, created.body
    listed = wire.answer()
    assert listed.status == 200
    assert [trigger["id"] for trigger in json.loads(listed.body)] == [json.loads(created.body)["id"]]


def test_transfer_encoding_with_content_length_is_400_and_nothing_behind_it_runs(
    wire: Wire, http_tenant: Tenant, runtime: Runtime
) -> None:
    smuggled = request_head("POST", "/triggers", http_tenant, "Content-Type: application/json", "Content-Length: 2")
    wire.send(
        request_head("POST", "/triggers", http_tenant, "Content-Length: 5", "Transfer-Encoding: chunked")
        + b"0\r\n\r\n"
        + smuggled
        + b"{}"
    )
    refused = wire.answer()
    assert refused.status == 400
    refused.problem  # noqa: B018 - asserts the body is problem+json
    assert wire.closed_within(5)
    assert runtime.request("GET", "/triggers", token=http_tenant.token).json == []


@pytest.mark.parametrize("value", ["-1", "abc", "12abc", "1.5"])
def test_a_content_length_that_is_not_a_non_negative_number_is_400(wire: Wire, value: str) -> None:
    wire.send(request_head("POST", "/triggers", None, f"Content-Length: {value}"))
    answer = wire.answer()
    assert answer.status == 400
    answer.problem  # noqa: B018


def test_a_declared_body_over_1_mib_is_413_before_any_of_it_is_sent(wire: Wire, http_tenant: Tenant) -> None:
    wire.send(request_head("POST", "/triggers", http_tenant, f"Content-Length: {10 * MIB}"))
    answer = wire.answer()  # no body byte was sent: the answer cannot have waited for it
    assert answer.status == 413
    assert answer.problem["title"] == "Content Too Large"


def test_a_chunked_body_over_1_mib_is_413(wire: Wire, http_tenant: Tenant) -> None:
    wire.send(request_head("POST", "/triggers", http_tenant, "Transfer-Encoding: chunked"))
    piece = b"x" * 65536
    try:
        for _ in range(20):
            wire.send(b"%x\r\n%s\r\n" % (len(piece), piece))
    except (BrokenPipeError, ConnectionResetError):
        pass  # refused before all of it was sent
    answer = wire.answer()
    assert answer.status == 413
    answer.problem  # noqa: B018


def test_an_over_long_request_line_is_414_problem_json(wire: Wire) -> None:
    wire.send(request_head("GET", "/triggers?q=" + "a" * 5000, None))
    answer = wire.answer()
    assert answer.status == 414
    answer.problem  # noqa: B018


@pytest.mark.parametrize(
    "headers",
    [
        [f"X-Filler-{n}: value" for n in range(150)],  # too many fields
        ["X-Filler: " + "v" * 9000],  # one field too large
    ],
    ids=["too-many-fields", "one-huge-field"],
)
def test_an_over_large_header_block_is_431_problem_json(wire: Wire, headers: list[str]) -> None:
    wire.send(request_head("GET", "/triggers", None, *headers))
    answer = wire.answer()
    assert answer.status == 431
    answer.problem  # noqa: B018


def test_a_connection_that_sends_no_complete_head_within_10_s_is_closed(runtime: Runtime) -> None:
    silent, half, drip = Wire(runtime), Wire(runtime), Wire(runtime)
    half.send(b"GET /triggers HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    drip.send(b"GET /triggers HTTP/1.1\r\n")
    stop = threading.Event()

    def dripping() -> None:  # one header every second: each read makes progress, the head never ends
        for n in range(30):
            if stop.wait(1):
                return
            try:
                drip.send(f"X-Drip-{n}: 1\r\n".encode())
            except OSError:
                return

    threading.Thread(target=dripping, daemon=True).start()
    started = time.monotonic()
    try:
        outcomes = [wire.closed_within(20 - (time.monotonic() - started)) for wire in (silent, half, drip)]
    finally:
        stop.set()
        for wire in (silent, half, drip):
            wire.close()
    assert outcomes == [True, True, True]


def test_an_idle_keep_alive_connection_is_closed_after_a_few_seconds(wire: Wire, http_tenant: Tenant) -> None:
    wire.send(request_head("GET", "/triggers", http_tenant))
    assert wire.answer().status == 200
    assert wire.closed_within(10)


@pytest.fixture
def small_runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """One web worker that holds at most 4 connections."""
    env = {
        "DATABASE_URL": database_url,
        "API_TOKEN": SHARED_TOKEN,
        "LOCAL_DATA_DIR": str(tmp_path),
        "WEB_CONCURRENCY": "1",
        "WEB_CONNECTIONS_PER_WORKER": "4",
    }
    runtime = start_runtime(env, tmp_path / "runtime.log")
    yield runtime
    stop_runtime(runtime)


def test_open_connections_are_bounded_and_the_one_over_gets_503(small_runtime: Runtime) -> None:
    held = [Wire(small_runtime) for _ in range(4)]
    try:
        for wire in held:  # each is being served, so each counts
            wire.send(request_head("GET", "/health", None))
            assert wire.answer().status == 200
        extra = Wire(small_runtime)
        answer = extra.answer()
        assert answer.status == 503
        answer.problem  # noqa: B018
        assert extra.closed_within(5)
        extra.close()
    finally:
        for wire in held:
            wire.close()
    time.sleep(0.5)  # the worker sees the closes
    assert small_runtime.request("GET", "/health").status == 200
