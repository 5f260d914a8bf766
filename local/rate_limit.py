"""Per-tenant rate limits of the self-hosted runtime: what API Gateway's usage plan does on AWS.

A token bucket per tenant: ``rate`` requests a second, ``burst`` at once. With REDIS_URL the
buckets live in Redis (one atomic script per request), so every web worker and replica shares
them; otherwise each worker process keeps its own (a tenant then gets ``rate`` per worker). Redis
failing is never a reason to refuse a request: the process's own buckets take over.
"""

import math
import threading
import time
from dataclasses import dataclass
from typing import Any

#: Buckets a process keeps at most before it forgets the full ones (a full bucket is a new one).
MAX_LOCAL_BUCKETS = 100_000

# KEYS[1] the bucket; ARGV: rate, burst, now (s). Returns {allowed, tokens left in thousandths}.
_TAKE = """
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]) or burst, tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, math.floor(tokens * 1000)}
"""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after_s: int  # until one request is allowed again (0 when allowed)
    reset_s: int  # until the bucket is full again


class RateLimiter:
    def __init__(self, rate: float, burst: int, redis_url: str | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._redis: Any = None
        self._script: Any = None
        self._redis_down_until = 0.0
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
            self._script = self._redis.register_script(_TAKE)
            self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    @property
    def policy(self) -> str:
        """The ``RateLimit-Policy`` header (IETF httpapi draft): the burst, refilled over its window."""
        return f'"tenant";q={self.burst};w={math.ceil(self.burst / self.rate)}'

    def _decision(self, allowed: bool, tokens: float) -> Decision:
        missing = max(0.0, 1 - tokens) if not allowed else 0.0
        return Decision(
            allowed,
            remaining=int(tokens),
            retry_after_s=math.ceil(missing / self.rate) if not allowed else 0,
            reset_s=math.ceil((self.burst - tokens) / self.rate),
        )

    def _take_locally(self, key: str, now: float) -> Decision:
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > MAX_LOCAL_BUCKETS:
                self._forget_full(now)
        return self._decision(allowed, tokens)

    def _forget_full(self, now: float) -> None:
        refill_s = self.burst / self.rate
        for stale in [k for k, (_, at) in self._buckets.items() if now - at >= refill_s]:
            del self._buckets[stale]

    def take(self, tenant: str) -> Decision:
        """Spend one request of ``tenant``'s bucket, if it has one."""
        now = time.time()
        if self._script is not None and now >= self._redis_down_until:
            try:
                allowed, milli = self._script(keys=[f"etp:rate:{tenant}"], args=[self.rate, self.burst, now])
                return self._decision(bool(allowed), int(milli) / 1000)
            except self._redis_errors:
                self._redis_down_until = now + 5.0
        return self._take_locally(tenant, now)
