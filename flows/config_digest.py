"""monitor.yaml's `digest:` section: who receives which digest, when, and where their pushes go."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from flows.config_fields import Strict, known_zone


class NotifyConfig(Strict):
    """Where a group's Apprise URLs come from: they carry tokens, so never from the YAML itself."""

    env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$",
                            description="an environment variable holding the URLs (space- or comma-separated)")
    block: str | None = Field(default=None, min_length=1, description="a Prefect Secret block holding them")
    file: str | None = Field(default=None, min_length=1, description="a JSON file holding {env: urls} (absolute path)")

    @model_validator(mode="after")
    def _one_place(self) -> "NotifyConfig":
        if not (self.env or self.block):
            raise ValueError("notify needs env: <VARIABLE> or block: <Prefect Secret block> (the URLs carry tokens)")
        return self


class RecipientGroup(Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    recipients: list[str] = Field(min_length=1)
    brands: list[str] | None = Field(default=None, description="brands in this group's digest; default all")
    notify: NotifyConfig | None = Field(default=None, description="push alerts as they happen (the watch flow)")
    quiet_hours: str | None = Field(default=None, description="HH:MM-HH:MM local: only HIGH alerts push then")
    cadence: Literal["daily", "weekly"] = Field(
        default="daily", description="daily: the nightly digest; weekly: the week's digest, sent at send_at")
    send_at: str = Field(default="monday 08:00",
                         description="weekly: the weekday and time it goes out, for the seven days before")
    timezone: str | None = Field(default=None, description="the group's time zone (default: the config's)")

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str) -> str:
        from flows.cadence import parse_send_at

        parse_send_at(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _group_zone(cls, value: str | None) -> str | None:
        return value if value is None else known_zone(value)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        from analysis.pushes import parse_quiet_hours

        parse_quiet_hours(value)
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c in address for c in " <>,;\r\n"):
                raise ValueError(f"{address!r} is not an email address")
        return value


class DigestConfig(Strict):
    sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    subject: str = "repwatch digest"
    groups: list[RecipientGroup] = Field(min_length=1)
    reply_queue_days: int = Field(default=30, ge=1, le=365,
                                  description="how far back the waiting-for-a-reply list looks")
    reply_queue_limit: int = Field(default=10, ge=1, le=200, description="reviews listed before 'and N more'")
