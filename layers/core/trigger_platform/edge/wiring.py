"""Process-wide collaborators for handlers: created on first use, reused while the Lambda is warm.

The composition root on AWS. The local runtime, which is a composition root of its own, installs
its PostgreSQL scheduler with ``use_scheduler`` (the layer never ships it) and may move the clock.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache

from trigger_platform.adapters.cache import MemoryCache, RedisCache
from trigger_platform.adapters.delivery_store import PostgresDeliveryStore
from trigger_platform.adapters.partitions import LogPartitions
from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.retention_store import PostgresRetentionStore
from trigger_platform.adapters.token_store import PostgresTokenStore
from trigger_platform.adapters.unit_of_work import PostgresUnitOfWork
from trigger_platform.clock import Clock, SystemClock
from trigger_platform.delivery import DeliveryPolicy, retry_schedule
from trigger_platform.ports import Cache, DeliveryQueue, Scheduler, WebhookSender
from trigger_platform.settings import get_settings
from trigger_platform.targets import TargetGuard

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
    settings = get_settings()
    if settings.database_url:
        return settings.database_url
    if settings.database_secret_arn:
        # Imported here so that local runs and handlers with DATABASE_URL never pay for boto3.
        from aws_lambda_powertools.utilities import parameters

        return str(parameters.get_secret(settings.database_secret_arn, max_age=300))
    raise RuntimeError("Set DATABASE_URL (or DATABASE_SECRET_ARN on AWS).")


@lru_cache(maxsize=1)
def database() -> Database:
    settings = get_settings()
    return Database(database_url, settings.database_connect_timeout_s, settings.database_statement_timeout_ms)


@lru_cache(maxsize=1)
def partitions() -> LogPartitions:
    return LogPartitions(database())


@lru_cache(maxsize=1)
def unit_of_work() -> PostgresUnitOfWork:
    # Looked up at each use, so that tests can swap the scheduler this process uses.
    return PostgresUnitOfWork(database(), partitions(), lambda: scheduler())  # noqa: PLW0108


def token_store() -> PostgresTokenStore:
    return PostgresTokenStore(database())


def retention_store() -> PostgresRetentionStore:
    return PostgresRetentionStore(database(), partitions())


@lru_cache(maxsize=1)
def cache() -> Cache:
    settings = get_settings()
    if settings.redis_url:
        return RedisCache(settings.redis_url, settings.redis_timeout_s, settings.redis_backoff_s)
    return MemoryCache()


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
    if get_settings().scheduler_backend == "eventbridge":
        return _eventbridge_scheduler()
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
