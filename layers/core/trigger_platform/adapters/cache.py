"""The Cache port: Redis when REDIS_URL is set, else an in-process cache.

Redis is an optimisation, never a dependency: every Redis error or timeout (connect and read
timeouts are short) becomes CacheUnavailable, and after one the adapter stops asking Redis for a
short back-off, so requests do not each pay a timeout while Redis is down.
"""

import threading
import time
from collections import OrderedDict
from uuid import UUID

from trigger_platform.errors import CacheUnavailable

GENERATION_KEY = "etp:gen:{tenant}"


class MemoryCache:
    """Process-local TTL cache (bounded LRU); generations are process-local too."""

    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._generations: dict[UUID, int] = {}
        self._max_entries = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= time.monotonic():
                self._entries.pop(key, None)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def set(self, key: str, value: str, ttl_s: float) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def generation(self, tenant_id: UUID) -> int:
        with self._lock:
            return self._generations.get(tenant_id, 0)

    def bump_generation(self, tenant_id: UUID) -> None:
        with self._lock:
            self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1


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
        value = self._call("get", key)
        if value is None:
            return None
        if not isinstance(value, bytes):
            raise CacheUnavailable("unexpected reply from Redis")
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise CacheUnavailable("garbage in Redis") from exc

    def set(self, key: str, value: str, ttl_s: float) -> None:
        self._call("set", key, value.encode(), px=max(1, int(ttl_s * 1000)))

    def generation(self, tenant_id: UUID) -> int:
        value = self._call("get", GENERATION_KEY.format(tenant=tenant_id))
        if value is None:
            return 0
        try:
            return int(str(value.decode() if isinstance(value, bytes) else value))
        except (TypeError, ValueError) as exc:
            raise CacheUnavailable("garbage generation in Redis") from exc

    def bump_generation(self, tenant_id: UUID) -> None:
        self._call("incr", GENERATION_KEY.format(tenant=tenant_id))
