"""Which alerts to push to which group now: one incident, one push, then only when it clearly changes.

Pure: it takes the alerts the detector has stored, the groups that receive
pushes and the pushes already recorded, and returns the new pushes to make.
- `opened`: a new incident, once per group that follows its brand. During a
  group's quiet hours only a HIGH incident is pushed; the others wait for the
  digest (and are pushed after all if they grow into a HIGH one).
- `escalated-<n>`: the incident's busiest bucket reached `escalation_factor`
  times what it was at the last push, or the incident became HIGH ("got much
  worse"), at most once a step.
- `ended`: an incident that was pushed is over; once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Mapping, Sequence

ESCALATION_FACTOR = 10.0
QUIET_SECONDS = 3 * 3600  # the detector's: back to normal this long and an incident is over
SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class PushGroup:
    name: str
    brands: frozenset[str] | None  # None: every brand
    quiet_hours: tuple[time, time] | None = None  # local [start, end); may wrap past midnight

    def follows(self, brand: str) -> bool:
        return self.brands is None or brand in self.brands


def parse_quiet_hours(value: str | None) -> tuple[time, time] | None:
    """'22:00-07:00' -> (22:00, 07:00); ValueError for anything else."""
    if not value:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours {value!r} must read HH:MM-HH:MM, e.g. 22:00-07:00") from None
    if start == end:
        raise ValueError(f"quiet hours {value!r} start and end at the same time")
    return start, end


def in_quiet_hours(moment: datetime, quiet: tuple[time, time] | None, tz: tzinfo) -> bool:
    if quiet is None:
        return False
    now = moment.astimezone(tz).time()
    start, end = quiet
    return start <= now < end if start < end else (now >= start or now < end)


def peak_of(alert: Mapping[str, Any]) -> float:
    """The incident's busiest bucket, as the detector stored it (its observed total where it did not)."""
    details = alert.get("details") or {}
    return float(details.get("peak") if details.get("peak") is not None else alert["observed"])


def going_on(alert: Mapping[str, Any], now: datetime, quiet_seconds: int = QUIET_SECONDS) -> bool:
    """Whether the incident is still open at `now`: the detector said so when it last saw it, and that was
    less than `quiet_seconds` after its last high bucket (an alert a later run folded into another, or no
    longer saw, is not open forever)."""
    if not alert["ongoing"] or "last_bucket" not in alert:
        return bool(alert["ongoing"])
    end = alert["last_bucket"] + timedelta(seconds=int(alert.get("bucket_seconds") or 3600))
    return (now - end).total_seconds() <= quiet_seconds


def plan_pushes(
    alerts: Sequence[Mapping[str, Any]], groups: Sequence[PushGroup], recorded: Mapping[str, Mapping[str, Any]],
    now: datetime, tz: tzinfo, escalation_factor: float = ESCALATION_FACTOR, quiet_seconds: int = QUIET_SECONDS,
) -> list[dict[str, Any]]:
    """The pushes to record now: dicts with push_id, alert_id, brand, group, kind, severity, peak and the alert."""
    out = []
    for alert in alerts:
        ongoing = going_on(alert, now, quiet_seconds)
        for group in groups:
            if not group.follows(alert["brand"]):
                continue
            prefix = f"{alert['alert_id']}|{group.name}|"
            mine = {pid[len(prefix):]: row for pid, row in recorded.items() if pid.startswith(prefix)}
            peak = peak_of(alert)

            def push(kind: str) -> None:
                out.append({"push_id": prefix + kind, "alert_id": alert["alert_id"], "brand": alert["brand"],
                            "group": group.name, "kind": kind, "severity": alert["severity"], "peak": peak,
                            "alert": alert})

            if "opened" not in mine:
                quiet = in_quiet_hours(now, group.quiet_hours, tz)
                if ongoing and (alert["severity"] == "high" or not quiet):
                    push("opened")
                continue  # an incident never pushed is never pushed as escalated or ended
            steps = sorted((k for k in mine if k.startswith("escalated-")), key=lambda k: int(k.split("-")[1]))
            last = mine[steps[-1] if steps else "opened"]
            last_peak = float(last.get("peak") or 0.0)
            steeper = last_peak > 0 and peak >= escalation_factor * last_peak
            graver = SEVERITY_RANK.get(alert["severity"], 0) > SEVERITY_RANK.get(last.get("severity"), 0)
            if ongoing and (steeper or (graver and alert["severity"] == "high")):
                push(f"escalated-{len(steps) + 1}")
            if not ongoing and "ended" not in mine:
                push("ended")
    return out
