"""The Cache port: Redis when REDIS_URL is set, else an in-process cache.

Redis is an optimisation, never a dependency: every Redis error or timeout (connect and read
timeouts are short) becomes CacheUnavailable, and after one the adapter stops asking Redis for a
short back-off, so requests do not each pay a timeout while Redis is down.
"""

import hashlib
import hmac
import sys
import threading
import time
from collections import OrderedDict
from uuid import UUID

from trigger_platform.errors import CacheUnavailable
from trigger_platform.ports import Cache

GENERATION_KEY = "etp:gen:{tenant}"


class MemoryCache:
    """Process-local TTL cache within a byte budget (least recently used first out); expired
    entries are dropped as they are met and by a sweep at most once a second. Generations are
    process-local too."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._generations: dict[UUID, int] = {}
        self._max_bytes = max_bytes
        self._bytes = 0
        self._swept_at = 0.0
        self._lock = threading.Lock()

    @staticmethod
    def _size(key: str, value: str) -> int:
        """What the entry holds in memory: a string takes up to 4 bytes a character (emoji)."""
        return sys.getsizeof(key) + sys.getsizeof(value)

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= self._size(key, value)

    def _sweep(self, now: float) -> None:
        if now - self._swept_at < 1.0:
            return
        self._swept_at = now
        for key in [key for key, (expires, _) in self._entries.items() if expires <= now]:
            self._drop(key)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= time.monotonic():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            now = time.monotonic()
            if key in self._entries:
                self._drop(key)
            self._entries[key] = (now + ttl_s, value)
            self._bytes += self._size(key, value)
            self._sweep(now)
            while self._bytes > self._max_bytes and self._entries:
                self._drop(next(iter(self._entries)))

    def generation(self, tenant_id: UUID) -> int:
        with self._lock:
            return self._generations.get(tenant_id, 0)

    def bump_generation(self, tenant_id: UUID) -> None:
        with self._lock:
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        return self.generation(tenant_id), self.get(key)


class RedisCache:
    def __init__(self, url: str, timeout_s: float = 0.25, backoff_s: float = 5.0) -> None:
        import redis  # imported only where a cache is actually used

        self._redis = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError, UnicodeDecodeError, ValueError)
        self._backoff_s = backoff_s
        self._down_until = 0.0

    def _call(self, method: str, *args: object, **kwargs: object) -> object:
        if time.monotonic() < self._down_until:
            raise CacheUnavailable("Redis is backing off after an error")
        try:
            return getattr(self._redis, method)(*args, **kwargs)
        except self._errors as exc:
            self._down_until = time.monotonic() + self._backoff_s
            raise CacheUnavailable(type(exc).__name__) from exc

    def get(self, key: str) -> str | None:
        return _text(self._call("get", key))

    def set(self, key: str, value: str, ttl_s: float) -> None:
        self._call("set", key, value.encode(), px=max(1, int(ttl_s * 1000)))

    def generation(self, tenant_id: UUID) -> int:
        return _generation(self._call("get", GENERATION_KEY.format(tenant=tenant_id)))

    def bump_generation(self, tenant_id: UUID) -> None:
        self._call("incr", GENERATION_KEY.format(tenant=tenant_id))

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        values = self._call("mget", [GENERATION_KEY.format(tenant=tenant_id), key])
        if not isinstance(values, list) or len(values) != 2:
            raise CacheUnavailable("unexpected reply from Redis")
        return _generation(values[0]), _text(values[1])


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, bytes):
        raise CacheUnavailable("unexpected reply from Redis")
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise CacheUnavailable("garbage in Redis") from exc


def _generation(value: object) -> int:
    if value is None:
        return 0
    try:
        return int(str(value.decode() if isinstance(value, bytes) else value))
    except (TypeError, ValueError) as exc:
        raise CacheUnavailable("garbage generation in Redis") from exc


class NoCache:
    """A cache that keeps nothing, for processes that cannot share one: several processes each with
    its own in-process cache would not see each other's invalidations."""

    def get(self, key: str) -> str | None:
        return None

    def set(self, key: str, value: str, ttl_s: float) -> None:
        return None

    def generation(self, tenant_id: UUID) -> int:
        return 0

    def bump_generation(self, tenant_id: UUID) -> None:
        return None

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        return 0, None


class SignedCache:
    """A Cache whose entries carry an HMAC of their key and value, so that whoever can write to the
    cache server cannot make a tenant read what it never stored there: an entry that fails the
    check is a miss. Generations stay plain numbers (a forged one only causes misses)."""

    def __init__(self, inner: Cache, key: bytes) -> None:
        self._inner = inner
        self._key = key

    def _mac(self, key: str, value: str) -> str:
        return hmac.new(self._key, f"{key}\n{value}".encode(), hashlib.sha256).hexdigest()

    def _verified(self, key: str, stored: str | None) -> str | None:
        if stored is None:
            return None
        mac, _, value = stored.partition("\n")
        return value if hmac.compare_digest(mac, self._mac(key, value)) else None

    def get(self, key: str) -> str | None:
        return self._verified(key, self._inner.get(key))

    def set(self, key: str, value: str, ttl_s: float) -> None:
        self._inner.set(key, f"{self._mac(key, value)}\n{value}", ttl_s)

    def generation(self, tenant_id: UUID) -> int:
        return self._inner.generation(tenant_id)

    def bump_generation(self, tenant_id: UUID) -> None:
        self._inner.bump_generation(tenant_id)

    def get_with_generation(self, tenant_id: UUID, key: str) -> tuple[int, str | None]:
        generation, stored = self._inner.get_with_generation(tenant_id, key)
        return generation, self._verified(key, stored)
