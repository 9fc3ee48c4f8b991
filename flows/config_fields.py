"""What every section of monitor.yaml shares: strict models (an unknown key is an error) and checked time zones."""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict


def known_zone(value: str) -> str:
    """The IANA zone name, checked; ValueError for a name the zone database does not know."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)") from None
    return value


class Strict(BaseModel):
    """A config section: unknown keys are errors (a misspelt key is never silently ignored), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
