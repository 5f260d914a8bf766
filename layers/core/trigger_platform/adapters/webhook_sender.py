"""The WebhookSender port over urllib3: each POST connects to an address the SSRF guard checked.

The host is resolved and judged before every attempt, and the connection goes to that address,
with the URL's host name for TLS (SNI and certificate check) and in the Host header, so a name
re-pointed after the check is never followed. Connect is bounded at 3 s, the whole attempt at
10 s; at most 64 KiB of the answer is read (and none kept), no redirect is followed. Concurrency is
bounded per target host: an attempt over the bound is deferred at once, so a slow host never holds
a worker that another host's delivery could use.
"""

import email.utils
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError, SSLError

from trigger_platform.ports import IPAddress, SendResult, WebhookRequest
from trigger_platform.records import target_host
from trigger_platform.targets import TargetGuard, TargetRefused

MAX_RESPONSE_BYTES = 64 * 1024
_CHUNK = 16 * 1024


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), if it says."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class _HostSlots:
    """How many attempts each host has in flight, bounded."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, host: str) -> Iterator[bool]:
        with self._lock:
            taken = self._in_flight.get(host, 0) < self._limit
            if taken:
                self._in_flight[host] = self._in_flight.get(host, 0) + 1
        try:
            yield taken
        finally:
            if taken:
                with self._lock:
                    self._in_flight[host] -= 1


class HttpWebhookSender:
    def __init__(
        self,
        guard: TargetGuard,
        connect_timeout_s: float = 3.0,
        attempt_timeout_s: float = 10.0,
        max_in_flight_per_host: int = 16,
    ) -> None:
        self._guard = guard
        self._connect_timeout_s = connect_timeout_s
        self._attempt_timeout_s = attempt_timeout_s
        self._max_in_flight = max_in_flight_per_host
        self._slots = _HostSlots(max_in_flight_per_host)
        self._pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
        self._pools_lock = threading.Lock()
        self._workers = ThreadPoolExecutor(max_workers=32, thread_name_prefix="webhook")

    def send_all(self, requests: list[WebhookRequest]) -> list[SendResult]:
        if len(requests) == 1:
            return [self._send(requests[0])]
        return list(self._workers.map(self._send, requests))

    def _send(self, request: WebhookRequest) -> SendResult:
        with self._slots.slot(target_host(request.url)) as taken:
            if not taken:
                return SendResult(None, 0, deferred=True)
            return self._attempt(request)

    def _pool(self, scheme: str, host: str, port: int, address: IPAddress) -> urllib3.HTTPConnectionPool:
        key = (scheme, host, port, str(address))
        with self._pools_lock:
            pool = self._pools.get(key)
            if pool is None:
                common = {"port": port, "maxsize": self._max_in_flight, "block": False, "retries": False}
                if scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(str(address), server_hostname=host, **common)  # type: ignore[arg-type]
                else:
                    pool = urllib3.HTTPConnectionPool(str(address), **common)  # type: ignore[arg-type]
                self._pools[key] = pool
            return pool

    def _attempt(self, request: WebhookRequest) -> SendResult:
        started = time.monotonic()
        deadline = started + self._attempt_timeout_s

        def elapsed_ms() -> int:
            return round((time.monotonic() - started) * 1000)

        parts = urlsplit(request.url)
        try:
            addresses = self._guard.addresses(request.url)
        except TargetRefused as refused:
            return SendResult(None, elapsed_ms(), f"target refused: {refused}")
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        pool = self._pool(parts.scheme, host, port, addresses[0])
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host_header = parts.netloc.rsplit("@", 1)[-1]
        # The answer's headers must come within what is left of the attempt once connected.
        timeout = urllib3.Timeout(total=self._attempt_timeout_s, connect=self._connect_timeout_s)
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=request.body,
                headers={**request.headers, "Host": host_header},
                redirect=False,
                retries=False,
                timeout=timeout,
                preload_content=False,
                assert_same_host=False,
            )
        except (ConnectTimeoutError, NewConnectionError) as exc:
            return SendResult(None, elapsed_ms(), _connect_error(exc))
        except ReadTimeoutError:
            return SendResult(None, elapsed_ms(), f"no answer within {self._attempt_timeout_s:g} s")
        except SSLError:
            return SendResult(None, elapsed_ms(), "TLS handshake or certificate check failed")
        except HTTPError as exc:
            return SendResult(None, elapsed_ms(), f"connection failed: {type(exc).__name__}")
        try:
            complete = self._drain(response, deadline)
        finally:
            if complete:
                response.release_conn()
            else:
                response.close()  # a body over the bound or past the deadline: do not reuse the connection
        wait = None
        if response.status in (429, 503):
            wait = retry_after_s(response.headers.get("Retry-After"), datetime.now(UTC))
        error = None if 200 <= response.status < 300 else f"HTTP {response.status}"
        return SendResult(response.status, elapsed_ms(), error, wait)

    def _drain(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bool:
        """Read (and drop) up to 64 KiB of the answer before the deadline; True if it all came."""
        read = 0
        try:
            while read <= MAX_RESPONSE_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                connection = getattr(response, "connection", None)
                sock = getattr(connection, "sock", None)
                if isinstance(sock, socket.socket):
                    sock.settimeout(remaining)
                chunk = response.read1(_CHUNK)
                if not chunk:
                    return True
                read += len(chunk)
        except (HTTPError, OSError):
            return False
        return False


def _connect_error(exc: Exception) -> str:
    # urllib3 makes NewConnectionError a ConnectTimeoutError too (for compatibility): test it first.
    if isinstance(exc, NewConnectionError) and "timed out" not in str(exc):
        return "connection refused or unreachable"
    return "connect timed out"
