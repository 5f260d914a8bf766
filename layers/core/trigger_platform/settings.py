"""The platform's configuration: one pydantic-settings object, read once per cold start."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Read from environment variables (case-insensitive); every field has a safe local default."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = Field(
        default=None, description="libpq URL; when unset on AWS, read from database_secret_arn"
    )
    database_secret_arn: str | None = Field(
        default=None, description="Secrets Manager secret holding the database URL (AWS)"
    )
    database_connect_timeout_s: int = Field(default=3, ge=1, le=60)
    database_statement_timeout_ms: int = Field(default=5000, ge=100)
    stage: str = "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
