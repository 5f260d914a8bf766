"""The web workers of the self-hosted runtime: gunicorn's ASGI worker parses HTTP and enforces its
limits; each worker process is a warm "Lambda instance" of every function, running one invocation
at a time (Powertools keeps the current event on the resolver class), callers in turn (turns.py),
while its event loop keeps reading other connections. This module only turns a request into
LocalApi's call and back, plus the two limits gunicorn has no setting for and problem+json bodies
for the errors it answers itself.

Run by ``python -m local``, or alone: ``gunicorn -c python:local.gunicorn_conf local.web:app``."""

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import psycopg2
from gunicorn.asgi.protocol import ASGIProtocol
from gunicorn.workers import gasgi

from local.logs import configure_logging
from local.rate_limit import RateLimiter
from local.server import MAX_REQUEST_BODY, FunctionHost, LocalApi, Reply
from local.template import load_template, parameters_from
from local.turns import InvocationTurns
from trigger_platform.edge import wiring
from trigger_platform.edge.problems import problem_document
from trigger_platform.settings import get_settings

log = logging.getLogger("local")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: A connection that has not sent a whole request head by then is closed (slow-header attacks).
REQUEST_HEAD_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 2
PROBLEM_JSON = "application/problem+json"
#: Fixed texts for the errors gunicorn answers before the app: its own messages can quote the request.
SERVER_ERROR_DETAILS = {
    400: "The request is not valid HTTP/1.1.",
    414: "The request line is too long.",
    431: "The request's header fields are too large or too many.",
    501: "The request's transfer coding is not supported.",
    503: "The server has too many open connections; retry shortly.",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: The problem type of each answer the server gives itself, before the app.
SERVER_ERROR_CODES = {
    400: "malformed-request",
    414: "request-line-too-long",
    431: "headers-too-large",
    501: "unsupported-transfer-coding",
    503: "server-busy",
}


def problem_body(status: int, detail: str, code: str | None = None) -> bytes:
    kind = code or SERVER_ERROR_CODES.get(status, "malformed-request")
    return problem_document(HTTPStatus(status), kind, detail).encode()


class LambdaProtocol(ASGIProtocol):  # type: ignore[misc]
    """gunicorn's HTTP/1.1 protocol with what it has no setting for: it times out the wait for a
    kept-alive connection's next request head (``keepalive``) but not for the first one, and its
    ASGI worker does not apply ``worker_connections``; its own error answers become problem+json."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        if self.worker.nr_conns > self.worker.worker_connections:
            self._send_error_response(503, "too many connections", [("Retry-After", "1")])
            self._close_transport()
            return
        # The keep-alive timer is cancelled once a request head is complete: armed here, it bounds
        # the first request's head as gunicorn's keepalive bounds the later ones.
        self._keepalive_handle = self.worker.loop.call_later(REQUEST_HEAD_TIMEOUT_S, self._keepalive_timeout)

    def _send_error_response(self, status: int, message: str, extra_headers: Any = ()) -> None:
        body = problem_body(status, SERVER_ERROR_DETAILS.get(status, reason(status)))
        extra = "".join(f"{name}: {value}\r\n" for name, value in extra_headers)
        head = (
            f"HTTP/1.1 {status} {reason(status)}\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n"
        )
        self._safe_write(head.encode("latin-1") + body)


class LambdaWorker(gasgi.ASGIWorker):  # type: ignore[misc]
    """gunicorn's ASGI worker serving connections with LambdaProtocol, and that stops accepting as
    soon as SIGTERM comes (gunicorn's own worker does at its next heartbeat, up to a second later)."""

    def init_process(self) -> None:
        # The worker builds each connection's protocol from this module-level name; there is no setting.
        gasgi.ASGIProtocol = LambdaProtocol
        super().init_process()

    def handle_exit_signal(self) -> None:
        super().handle_exit_signal()
        for server in self.servers:
            server.close()  # the listening socket only: connections in flight are finished


def database_answers(url: str) -> bool:
    """A connection of its own, so that a health check never waits behind an invocation."""
    try:
        connection = psycopg2.connect(
            url, connect_timeout=HEALTH_TIMEOUT_S, options=f"-c statement_timeout={HEALTH_TIMEOUT_S * 1000}"
        )
    except psycopg2.Error:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except psycopg2.Error:
        return False
    finally:
        connection.close()


def header_name(lowered: bytes) -> str:
    """ASGI lower-cases header names; API Gateway passes them as clients usually write them."""
    return "-".join(part.capitalize() for part in lowered.decode("latin-1").split("-"))


class LambdaApp:
    """The ASGI application: every function warm at startup, one invocation at a time, callers in turn."""

    def __init__(self) -> None:
        self._api: LocalApi | None = None
        self._turns = InvocationTurns()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:  # a WebSocket: no route takes one
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                configure_logging()
                self._api = await self._turns.alone(self._start)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._turns.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    def _start() -> LocalApi:
        template = load_template(PROJECT_ROOT / "template.yaml", parameters_from(os.environ))
        functions = FunctionHost()
        functions.warm([route.function for route in template.routes] + [f for f in (template.authorizer,) if f])
        settings = get_settings()
        limiter = RateLimiter(settings.tenant_rate_limit, settings.tenant_rate_burst, wiring.redis_url())
        return LocalApi(template, functions, limiter)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        if self._api is None:
            raise RuntimeError("requests arrived before the lifespan startup loaded the functions")
        method: str = scope["method"]
        target = scope["raw_path"].decode("latin-1") or scope["path"]
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(header_name(name), value.decode("latin-1")) for name, value in scope["headers"]]
        loop = asyncio.get_running_loop()
        if scope["path"] == "/health":
            reply = await self._health(loop)
        else:
            # gunicorn has already refused a Content-Length that is not a non-negative number.
            declared = next((int(v) for k, v in headers if k == "Content-Length"), 0)
            body = await read_body(receive) if declared <= MAX_REQUEST_BODY else None
            if body is None:
                reply = self._api.too_large()
                reply = Reply(reply.status, [*reply.headers, ("Connection", "close")], reply.body)
            else:
                caller = next((value for name, value in headers if name == "Authorization"), "")
                reply = await self._turns.run(caller, self._api.handle, method, target, headers, body, scope["scheme"])
        await send_reply(send, reply)
        # The route template, not the target: a query string can hold what a client should not send.
        log.info("%s %s %d %.1fms", method, reply.route, reply.status, (time.perf_counter() - started) * 1000)

    @staticmethod
    async def _health(loop: asyncio.AbstractEventLoop) -> Reply:
        from trigger_platform.edge import wiring

        if await loop.run_in_executor(None, database_answers, wiring.database_url()):
            return Reply(200, [("Content-Type", "application/json")], b'{"status": "ok"}')
        body = problem_body(503, "The database does not answer.", "service-unavailable")
        return Reply(503, [("Content-Type", PROBLEM_JSON), ("Retry-After", "5")], body)


async def read_body(receive: Receive) -> bytes | None:
    """The whole body, or None once it passes MAX_REQUEST_BODY (a chunked body declares no length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_REQUEST_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in reply.headers
        if name.lower() != "content-length"
    ]
    headers.append((b"Content-Length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


app = LambdaApp()
