"""The platform's configuration: one pydantic-settings object, read once per cold start."""

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables (case-insensitive); every field has a safe local default."""

    # An empty variable is an unset one: the template declares every variable (so that
    # `sam local --env-vars` can set it) and leaves the unused ones empty.
    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    database_url: str | None = Field(
        default=None, description="libpq URL; when unset on AWS, read from database_secret_arn"
    )
    database_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the database URL (AWS)"
    )
    database_host: str | None = Field(
        default=None, description="A host (an RDS Proxy) to connect to instead of the URL's own"
    )
    database_connect_timeout_s: int = Field(default=3, ge=1, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=100)
    stage: str = "local"
    cors_allow_origin: str = Field(
        default="*", description="The one origin browsers may call the API from (the template's CorsAllowOrigin), or *"
    )
    api_token: SecretStr | None = Field(
        default=None, description="The self-hosted deployment's own token (registered for the default tenant)"
    )
    # API Gateway, for the operator commands on AWS (create-tenant, revoke-token).
    usage_plan_id: str | None = Field(default=None, description="The usage plan every tenant's API key joins")
    rest_api_id: str | None = Field(default=None, description="The REST API whose authorizer cache to flush")

    # Per-tenant quotas: no tenant can crowd the others out of the scheduler or the database.
    tenant_max_triggers: int = Field(default=10_000, ge=1)
    tenant_max_recurring_triggers: int = Field(default=1_000, ge=0, description="enabled recurring triggers")

    # Per-tenant rate limit of the self-hosted runtime (on AWS: the usage plan's template parameters).
    tenant_rate_limit: float = Field(default=20, gt=0, description="requests per second per tenant")
    tenant_rate_burst: int = Field(default=40, ge=1, description="requests per tenant at once above the rate")

    # Redis for cached log reads (redis:// or rediss://, a password in the URL); without it an
    # in-process cache serves, within cache_max_bytes.
    redis_url: str | None = None
    redis_auth_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the Redis AUTH token (AWS, ElastiCache)"
    )
    cache_secret: SecretStr | None = Field(
        default=None, description="Key of the cache entries' HMAC; else derived from the Redis password"
    )
    cache_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1024 * 1024)
    cache_in_process: bool = Field(
        default=True, description="Without Redis, cache in process (off where several processes serve one API)"
    )
    redis_timeout_s: float = Field(default=0.25, gt=0, le=0.25)
    redis_backoff_s: float = Field(default=5.0, ge=0)

    # Where schedules live: EventBridge Scheduler on AWS, PostgreSQL for the local runtime and tests.
    scheduler_backend: Literal["eventbridge", "local", "none"] = Field(
        default="local", description="none: nothing arms schedules (sam local; fire by hand)"
    )
    # EventBridge Scheduler (names and ARNs come from template.yaml on AWS).
    schedule_group_name: str = "trigger-platform"
    fire_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:trigger-platform-fire"
    scheduler_role_arn: str = "arn:aws:iam::123456789012:role/trigger-platform-scheduler"
    dead_letter_queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:trigger-platform-fire-dlq"
    scheduler_max_retry_attempts: int = Field(default=185, ge=0, le=185)
    scheduler_max_event_age_s: int = Field(default=86400, ge=60, le=86400)

    # Delivery of fires to the customers' endpoints (see delivery.py).
    delivery_retry_schedule: str = Field(
        default="5,300,1800,7200,18000,36000,36000",
        description="Seconds to wait before each retry, comma-separated; its length is the number of retries",
    )
    delivery_allow_private_networks: bool = Field(
        default=False, description="Lift the SSRF guard and accept http (development and tests only)"
    )
    delivery_resolver_table: str | None = Field(
        default=None,
        description="Resolve target hosts from this table (name=address[;address],…, or none) instead of DNS; "
        "tests only",
    )
    delivery_queue_url: str | None = Field(default=None, description="The SQS delivery queue (AWS); unset locally")
    delivery_connect_timeout_s: float = Field(default=3.0, gt=0, le=10)
    delivery_attempt_timeout_s: float = Field(default=10.0, gt=0, le=60)
    delivery_max_in_flight_per_host: int = Field(default=16, ge=1, le=256)

    @field_validator("delivery_retry_schedule")
    @classmethod
    def _a_retry_schedule(cls, value: str) -> str:
        """A bad schedule stops the process at start, not at its first delivery."""
        from trigger_platform.delivery import retry_schedule

        retry_schedule(value)
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
