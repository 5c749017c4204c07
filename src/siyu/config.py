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
    # Worker: `siyu serve` runs the jobs in a background thread unless this is false (use `siyu worker`).
    embedded_worker: bool = True
    leaderboard_refresh_seconds: float = 2.0
    # Brand-local HH:MM of the nightly full leaderboard rebuild (catches owner changes, merges); empty = off.
    leaderboard_rebuild_time: str = "03:30"
    # Brand-local HH:MM at which the worker writes yesterday's daily reports; empty switches it off.
    daily_report_time: str = "07:30"
    # The overview's daily rollups: incremental refresh every N seconds, a full rebuild nightly (empty = off).
    rollup_refresh_seconds: float = 120.0
    rollup_rebuild_time: str = "03:00"
    daily_report_dir: str = "./reports/daily"
    # Brand-local HH:MM of the nightly insights refresh (RFM, models, lifecycle, churn warnings); empty = off.
    insights_refresh_time: str = "04:00"
    # Monthly cost of one staff member (salary + overhead, fen) for the boss page's team cost.
    staff_monthly_cost_fen: int = 1_200_000
    # Chat text older than this many days is blanked by the daily purge (rows stay for metrics); 0 = keep forever.
    # One year covers a full annual review cycle and a year-on-year comparison of incidents.
    chat_retention_days: int = 365
    # Behaviour detectors: a customer message unanswered this long (in working hours) is an incident, and a
    # customer deleting the staff member within this many hours of a staff message is negative feedback.
    compliance_reply_sla_minutes: int = 30
    compliance_negative_feedback_hours: int = 24
    # Brand-local HH:MM of the daily behaviour detectors (previous day) and the chat purge; empty = off.
    compliance_daily_time: str = "05:00"
    # Content pack: brand-local HH:MM the worker publishes the day's pack (empty = off), and when its tasks fall due.
    content_pack_publish_time: str = "08:00"
    content_pack_due_time: str = "21:00"

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
