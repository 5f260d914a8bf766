"""Process-wide collaborators for handlers: created on first use, reused while the Lambda is warm."""

from functools import lru_cache

from trigger_platform.adapters.postgres import Database
from trigger_platform.adapters.token_store import PostgresTokenStore
from trigger_platform.adapters.trigger_store import PostgresTriggerStore
from trigger_platform.clock import Clock, SystemClock
from trigger_platform.settings import get_settings

_clock: Clock = SystemClock()


def clock() -> Clock:
    return _clock


def use_clock(replacement: Clock) -> None:
    """Let tests and the local runtime move time for every handler in this process."""
    global _clock
    _clock = replacement


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


def trigger_store() -> PostgresTriggerStore:
    return PostgresTriggerStore(database())


def token_store() -> PostgresTokenStore:
    return PostgresTokenStore(database())
