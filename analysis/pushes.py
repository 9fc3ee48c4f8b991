"""Which alerts to push to which group now: one incident, one push, then only when it clearly changes.

Pure: it takes the alerts the detector has stored, the groups that receive
pushes and the pushes already recorded, and returns the new pushes to make.
- `opened`: a new incident, once per group that follows its brand. A brand's
  alerts that overlap in time are one incident (the negative mentions that
  rose first and the volume that followed are one outage). During a group's
  quiet hours only a HIGH incident is pushed; the others wait for the digest
  (and are pushed after all if they grow into a HIGH one).
- `escalated-<n>`: the incident's busiest bucket reached `escalation_factor`
  times what it was at the last push, or the incident became HIGH ("got much
  worse"), at most once a step; and a much worse rise the detector found
  inside the open incident (an alert with `escalated_from`) is pushed once,
  as its own "got much worse".
- `ended`: an incident that was pushed is over (all of its alerts); once. An
  alert is over when the detector last said so (its episode is back within
  the series' ordinary band), so "back to normal" comes in the first round
  after the volume is; a rise after that is a new incident, pushed anew.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, Mapping, Sequence

ESCALATION_FACTOR = 10.0
QUIET_SECONDS = 3 * 3600  # an alert no run has seen for this long after its last bucket is over
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


def incident_clusters(alerts: Sequence[Mapping[str, Any]], now: datetime, quiet_seconds: int = QUIET_SECONDS
                      ) -> list[list[Mapping[str, Any]]]:
    """A brand's alerts that overlap in time are one incident for the people pushed: the negative mentions that
    rose at 22:15 and the volume that went HIGH at 22:45 are one outage. An alert still going on reaches to `now`;
    one that is over, to the end of its last bucket: a rise after that is another incident."""
    def span(a: Mapping[str, Any]) -> tuple[datetime, datetime]:
        if "incident_start" not in a:
            return datetime.min, datetime.max  # an alert without times stands alone with its brand's others
        if going_on(a, now, quiet_seconds):
            return a["incident_start"], max(now, a["last_bucket"] + timedelta(seconds=int(a.get("bucket_seconds") or 3600)))
        return a["incident_start"], a["last_bucket"] + timedelta(seconds=int(a.get("bucket_seconds") or 3600))

    clusters: list[list[Mapping[str, Any]]] = []
    by_brand: dict[str, list[Mapping[str, Any]]] = {}
    for a in alerts:
        by_brand.setdefault(a["brand"], []).append(a)
    for brand_alerts in by_brand.values():
        current: list[Mapping[str, Any]] = []
        current_end = None
        for a in sorted(brand_alerts, key=lambda a: (span(a)[0], a["alert_id"])):
            start, end = span(a)
            if current and current_end is not None and start <= current_end:
                current.append(a)
                current_end = max(current_end, end)
            else:
                if current:
                    clusters.append(current)
                current, current_end = [a], end
        if current:
            clusters.append(current)
    return clusters


def plan_pushes(
    alerts: Sequence[Mapping[str, Any]], groups: Sequence[PushGroup], recorded: Mapping[str, Mapping[str, Any]],
    now: datetime, tz: tzinfo, escalation_factor: float = ESCALATION_FACTOR, quiet_seconds: int = QUIET_SECONDS,
) -> list[dict[str, Any]]:
    """The pushes to record now: dicts with push_id, alert_id, brand, group, kind, severity, peak and the alert.

    Pushes belong to an incident's first pushed alert (its anchor); the message of each is composed from the
    incident's most severe alert at the time.
    """
    out = []
    for cluster in incident_clusters(alerts, now, quiet_seconds):
        live = [a for a in cluster if going_on(a, now, quiet_seconds)]
        worst = max(live or cluster, key=lambda a: (SEVERITY_RANK.get(a["severity"], 0), peak_of(a)))
        for group in groups:
            if not group.follows(cluster[0]["brand"]):
                continue
            pushed = {a["alert_id"]: {pid.split("|")[-1]: row for pid, row in recorded.items()
                                      if pid.startswith(f"{a['alert_id']}|{group.name}|")} for a in cluster}
            anchor = next((a for a in cluster if "opened" in pushed[a["alert_id"]]), None)

            def push(kind: str, on: Mapping[str, Any], about: Mapping[str, Any]) -> None:
                out.append({"push_id": f"{on['alert_id']}|{group.name}|{kind}", "alert_id": on["alert_id"],
                            "brand": on["brand"], "group": group.name, "kind": kind, "severity": about["severity"],
                            "peak": peak_of(about), "alert": about})

            if anchor is None:
                quiet = in_quiet_hours(now, group.quiet_hours, tz)
                if live and (worst["severity"] == "high" or not quiet):
                    push("opened", worst, worst)
                continue  # an incident never pushed is never pushed as escalated or ended
            mine = pushed[anchor["alert_id"]]
            steps = sorted((k for k in mine if k.startswith("escalated-")), key=lambda k: int(k.split("-")[1]))
            last = mine[steps[-1] if steps else "opened"]
            last_peak = float(last.get("peak") or 0.0)
            steeper = last_peak > 0 and peak_of(worst) >= escalation_factor * last_peak
            graver = SEVERITY_RANK.get(worst["severity"], 0) > SEVERITY_RANK.get(last.get("severity"), 0)
            # A much worse rise inside the open incident, found by the detector: pushed once, as itself.
            reburst = next((a for a in sorted(live, key=lambda a: a.get("incident_start") or datetime.min,
                                              reverse=True)
                            if a is not anchor and (a.get("details") or {}).get("escalated_from")
                            and not any(k.startswith("escalated-") for k in pushed[a["alert_id"]])), None)
            if reburst is not None:
                push("escalated-1", reburst, reburst)
            elif live and (steeper or (graver and worst["severity"] == "high")):
                push(f"escalated-{len(steps) + 1}", anchor, worst)
            if not live and "ended" not in mine:
                push("ended", anchor, max(cluster, key=lambda a: (a["last_bucket"] if "last_bucket" in a
                                                                  else datetime.min, a["observed"])))
    return out
