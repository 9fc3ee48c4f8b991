"""An alert from an incident: its window, what was observed against what was expected, what people say, examples.

Pure: it takes the incident, the series it came from and the mentions the
caller read for its window (and a baseline before it); the flow does the reading.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Sequence

from analysis import sentiment, themes
from analysis.detection import spikes

# The "usual" that an incident's words are compared with, and how much of it is read.
THEME_BASELINE = timedelta(days=14)
# Earlier complaints needed to compare an incident's complaints with (fewer: all earlier mentions).
MIN_COMPLAINT_BASELINE = 30
# The series whose busiest bucket each metric's incident is measured by.
PEAK_SERIES = {"mentions": "count", "negative": "negative", "negative_share": "negative", "rating": "rated"}
# Word frequencies of a few thousand mentions describe "usual" as well as all of them, at a bounded cost.
THEME_BASELINE_SAMPLE = 5000


@dataclass(frozen=True)
class IncidentWindow:
    start: datetime  # the first bucket's start
    end: datetime  # the end of the last bucket
    last_bucket: datetime  # the last bucket's start


def incident_window(origin: datetime, incident: spikes.Incident, bucket_seconds: int) -> IncidentWindow:
    return IncidentWindow(
        start=spikes.bucket_start(origin, incident.start, bucket_seconds),
        end=spikes.bucket_start(origin, incident.end + 1, bucket_seconds),
        last_bucket=spikes.bucket_start(origin, incident.end, bucket_seconds),
    )


def examples(mentions: Sequence[dict[str, Any]], limit: int = 3, by_rating: bool = False) -> list[dict[str, Any]]:
    """The most negative mentions of an incident (the lowest-rated first when `by_rating`), one of each text,
    with the words that drove each one's score."""
    def order(m: dict[str, Any]) -> tuple[float, ...]:
        # A review in a language the model does not read has stars but no text score: its stars rank it.
        return (m["rating"], m["compound"] or 0.0) if by_rating else (m["compound"],)

    key = "rating" if by_rating else "compound"
    scored = sorted((m for m in mentions if m[key] is not None), key=order)
    out, seen = [], set()
    for m in scored:
        text = m["text"] or m["title"] or ""
        if text in seen:
            continue
        seen.add(text)
        out.append({"text": text, "url": m["url"], "source": m["source"],
                    "drivers": sentiment.driver_words(sentiment.scored_text(m), model=m.get("sentiment_model") or "vader")
                    if m.get("label") else [],
                    "published_at": m["published_at"].isoformat(), "compound": m["compound"]})
        if len(out) == limit:
            break
    return out


def assemble_alert(
    *, brand: str, exclude_terms: Sequence[str], source: str, metric: str, incident: spikes.Incident,
    series: dict[str, Any], origin: datetime, bucket_seconds: int,
    mentions: Sequence[dict[str, Any]], baseline: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    """The alert for one incident, ready for the store; `mentions` are its window's, `baseline` the two weeks before."""
    window = incident_window(origin, incident, bucket_seconds)
    span = slice(incident.start, incident.end + 1)
    observed, expected = incident.observed, incident.expected
    if metric == "rating":  # observed/expected are mean stars in the incident vs before it
        n = series["rated"][span].sum()
        observed = float(series["rating_sum"][span].sum() / n) if n else 0.0
        expected = float(incident.expected / max(1, incident.end - incident.start + 1))
    negative_now = [m for m in mentions if (m["rated_label"] or m["label"]) == "negative"] or list(mentions)
    # Complaints against earlier complaints: words every complaint has ("told", "customer service") do not
    # rise, what this incident's complaints are about does; with too few earlier complaints, all earlier mentions.
    complaints_before = [m for m in baseline if (m["rated_label"] or m["label"]) == "negative"]
    reference = complaints_before if len(complaints_before) >= MIN_COMPLAINT_BASELINE else list(baseline)
    terms = themes.rising_terms([sentiment.scored_text(m) for m in negative_now],
                                 [sentiment.scored_text(m) for m in reference],
                                exclude=[brand, *exclude_terms])
    # A rating drop is explained by the reviews that drew it down (below the usual mean), not by the
    # loudest posts, nor by the five-star review that happened to come in the same hours.
    shown = ([m for m in mentions if m["rating"] is not None and m["rating"] < expected] if metric == "rating"
             else list(mentions))
    return {
        "alert_id": f"{brand}|{source}|{metric}|{window.start.isoformat()}",
        "brand": brand, "source": source, "metric": metric, "bucket_seconds": bucket_seconds,
        "incident_start": window.start, "last_bucket": window.last_bucket,
        "observed": observed, "expected": expected,
        "significance": min(300.0, -math.log10(max(incident.pvalue, 1e-300))),
        "severity": incident.severity, "ongoing": incident.ongoing,
        "details": {
            "negative": float(series["negative"][span].sum()) if metric == "mentions" else None,
            # The busiest bucket: what a "got much worse" push is measured on (a rate, not a running total).
            "peak": float(series[PEAK_SERIES[metric]][incident.peak]),
            "mentions": len(mentions),
            "terms": [t.term for t in terms],
            "examples": examples(shown, by_rating=metric == "rating"),
            # A tenfold step inside an open incident: when the incident it escalated began.
            "escalated_from": (spikes.bucket_start(origin, incident.escalated_from, bucket_seconds).isoformat()
                               if incident.escalated_from is not None else None),
        },
    }
