"""Process-wide collaborators for handlers: created on first use, reused while the Lambda is warm.

The composition root on AWS. The local runtime, which is a composition root of its own, installs
its PostgreSQL scheduler with ``use_scheduler`` (the layer never ships it) and may move the clock.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from trigger_platform.adapters.cache import MemoryCache, NoCache, RedisCache, SignedCache
from trigger_platform.adapters.delivery_store import PostgresDeliveryStore
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.adapters.token_store import PostgresTokenStore
from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
from trigger_platform.clock import Clock, SystemClock
from trigger_platform.delivery import DeliveryPolicy, retry_schedule
from trigger_platform.edge.observability import logger
from trigger_platform.ports import Cache, DeliveryQueue, Scheduler, WebhookSender
from trigger_platform.settings import get_settings
from trigger_platform.targets import TargetGuard
from trigger_platform.triggers import Quotas

_clock: Clock = SystemClock()
_local_scheduler: Callable[[Database], Scheduler] | None = None


def clock() -> Clock:
    return _clock


def use_clock(replacement: Clock) -> None:
    """Let tests and the local runtime move time for every handler in this process."""
    global _clock
    _clock = replacement


def use_scheduler(make: Callable[[Database], Scheduler]) -> None:
    """The local runtime's scheduler, for ``SCHEDULER_BACKEND=local``."""
    global _local_scheduler
    _local_scheduler = make


def database_url() -> str:
    """DATABASE_URL, else the URL in Secrets Manager; through DATABASE_HOST (an RDS Proxy) when set."""
    settings = get_settings()
    if settings.database_url:
        url = settings.database_url
    elif settings.database_secret_arn:
        url = _secret(settings.database_secret_arn)
    else:
        raise RuntimeError("Set DATABASE_URL (or DATABASE_SECRET_ARN on AWS).")
    if not settings.database_host:
        return url
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    host = f"{settings.database_host}:{parts.port}" if parts.port else settings.database_host
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}" if credentials else host))


@lru_cache(maxsize=1)
def database() -> Database:
    settings = get_settings()
    return Database(database_url, settings.database_connect_timeout_s, settings.database_statement_timeout_ms)


@lru_cache(maxsize=1)
def quotas() -> Quotas:
    settings = get_settings()
    return Quotas(triggers=settings.tenant_max_triggers, enabled_recurring=settings.tenant_max_recurring_triggers)


@lru_cache(maxsize=1)
def partitions() -> LogPartitions:
    return LogPartitions(database())


@lru_cache(maxsize=1)
def unit_of_work() -> PostgresUnitOfWork:
    # Looked up at each use, so that tests can swap the scheduler this process uses.
    return PostgresUnitOfWork(database(), partitions(), lambda: scheduler())  # noqa: PLW0108


def configured_token() -> str | None:
    token = get_settings().api_token
    return token.get_secret_value() if token else None


def token_store() -> PostgresTokenStore:
    return PostgresTokenStore(database())


def retention_store() -> PostgresRetentionStore:
    return PostgresRetentionStore(database(), partitions())


def _secret(arn: str) -> str:
    # Imported here so that local runs and handlers with no secret to read never pay for boto3.
    from aws_lambda_powertools.utilities import parameters

    return str(parameters.get_secret(arn, max_age=300))


def redis_url() -> str | None:
    """REDIS_URL, with the AUTH token from Secrets Manager put in as its password on AWS."""
    settings = get_settings()
    if not settings.redis_url or not settings.redis_auth_secret_arn:
        return settings.redis_url
    parts = urlsplit(settings.redis_url)
    token = quote(_secret(settings.redis_auth_secret_arn), safe="")
    return urlunsplit(parts._replace(netloc=f":{token}@{parts.hostname}:{parts.port or 6379}"))


def cache_signing_key(url: str) -> bytes:
    """CACHE_SECRET; else one derived from the Redis password (every process that can read the
    cache knows it); else one of this process's own, which only costs cross-process hits."""
    settings = get_settings()
    if settings.cache_secret is not None:
        material = settings.cache_secret.get_secret_value().encode()
    elif urlsplit(url).password:
        material = unquote(urlsplit(url).password or "").encode()
    else:
        logger.warning("no CACHE_SECRET and no Redis password: cache entries are signed with a per-process key")
        return secrets.token_bytes(32)
    return hashlib.sha256(b"etp-cache-hmac-v1\n" + material).digest()


@lru_cache(maxsize=1)
def cache() -> Cache:
    settings = get_settings()
    url = redis_url()
    if url:
        redis = RedisCache(url, settings.redis_timeout_s, settings.redis_backoff_s)
        return SignedCache(redis, cache_signing_key(url))
    return MemoryCache(settings.cache_max_bytes) if settings.cache_in_process else NoCache()


@lru_cache(maxsize=1)
def _eventbridge_scheduler() -> Scheduler:
    # boto3 is imported only by the functions that schedule, and only on AWS.
    import boto3

    from trigger_platform.adapters.eventbridge import EventBridgeScheduler, ScheduleTarget

    settings = get_settings()
    target = ScheduleTarget(
        group_name=settings.schedule_group_name,
        function_arn=settings.fire_function_arn,
        role_arn=settings.scheduler_role_arn,
        dead_letter_arn=settings.dead_letter_queue_arn,
        max_retry_attempts=settings.scheduler_max_retry_attempts,
        max_event_age_s=settings.scheduler_max_event_age_s,
    )
    return EventBridgeScheduler(boto3.client("scheduler"), target)


def scheduler() -> Scheduler:
    backend = get_settings().scheduler_backend
    if backend == "eventbridge":
        return _eventbridge_scheduler()
    if backend == "none":
        from trigger_platform.adapters.no_scheduler import NoScheduler

        return NoScheduler()
    if _local_scheduler is None:
        raise RuntimeError("SCHEDULER_BACKEND=local needs the local runtime's scheduler (python -m local)")
    return _local_scheduler(database())


# Delivery ---------------------------------------------------------------------------------------


_target_guard: TargetGuard | None = None


def target_guard() -> TargetGuard:
    global _target_guard
    if _target_guard is None:
        from trigger_platform.adapters.resolver import StaticResolver, SystemResolver

        settings = get_settings()
        table = settings.delivery_resolver_table
        resolver = SystemResolver() if table is None else StaticResolver.parse(table)
        _target_guard = TargetGuard(resolver, settings.delivery_allow_private_networks)
    return _target_guard


def use_target_guard(replacement: TargetGuard) -> None:
    """Let tests resolve target names through a table of their own (and the sender built after it)."""
    global _target_guard
    _target_guard = replacement
    webhook_sender.cache_clear()


@lru_cache(maxsize=1)
def delivery_policy() -> DeliveryPolicy:
    settings = get_settings()
    # A lease outlasts the attempts it covers (all of a batch's run at once), with room for the writes.
    lease = timedelta(seconds=3 * settings.delivery_attempt_timeout_s)
    return DeliveryPolicy(retry_schedule(settings.delivery_retry_schedule), lease=lease)


@lru_cache(maxsize=1)
def delivery_queue() -> DeliveryQueue | None:
    """SQS on AWS; None for the local runtime, whose delivery loop reads the outbox itself."""
    queue_url = get_settings().delivery_queue_url
    if not queue_url:
        return None
    from trigger_platform.adapters.sqs_queue import SqsDeliveryQueue

    return SqsDeliveryQueue(queue_url)


@lru_cache(maxsize=1)
def webhook_sender() -> WebhookSender:
    """One per process, so that the bound on each target host's concurrency holds across invocations."""
    from trigger_platform.adapters.webhook_sender import HttpWebhookSender

    settings = get_settings()
    return HttpWebhookSender(
        target_guard(),
        settings.delivery_connect_timeout_s,
        settings.delivery_attempt_timeout_s,
        settings.delivery_max_in_flight_per_host,
    )


def new_delivery_store() -> PostgresDeliveryStore:
    """A delivery store on a connection of its own: each warm delivery function holds one, so that
    the local runtime can run several beside the API handlers without sharing a transaction."""
    settings = get_settings()
    return PostgresDeliveryStore(
        Database(database_url, settings.database_connect_timeout_s, settings.database_statement_timeout_ms)
    )
