"""Settings: the only place that reads the environment."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from SIYU_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="SIYU_", env_file=None, extra="ignore")

    database_url: str = "sqlite:///./siyu.db"
    time_zone: str = "Asia/Shanghai"
    default_country: str = "CN"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = "dev-only-change-me"
    sql_echo: bool = False

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises on an unknown zone, naming it
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The brand's time zone, used to cut business days."""
        return ZoneInfo(self.time_zone)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
