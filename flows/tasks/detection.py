"""Detection: the alerts of a brand over a period, read from the store and made by analysis."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from prefect import task

from analysis.detection import alerts, spikes
from analysis import store
from flows.config import BrandConfig, MonitorConfig


def detect_brand_alerts(
    con: store.Connection, brand: BrandConfig, period_start: datetime, until: datetime, config: MonitorConfig,
) -> list[store.Row]:
    """Alerts for one brand whose incident touches [period_start, until); plain dicts ready for the store.

    Volume spikes, negative-mention spikes, negative-share shifts and rating
    drops; a negative burst or share shift inside a volume spike is the same
    incident, folded into it (as its negative count) rather than alerted twice.
    """
    bucket = config.detection.bucket_seconds
    params = spikes.with_sensitivity(config.detection.sensitivity)
    # Buckets on the clock (hours on the hour): a watch round at 22:15 sees the current hour so far, and every
    # round cuts the same buckets, so an incident keeps its start (and its alert) from one round to the next.
    end = datetime.fromtimestamp(-(-until.timestamp() // bucket) * bucket, timezone.utc)
    start = end - timedelta(days=config.detection.history_days)
    series = store.bucket_series(con, brand.name, start, end, bucket)

    def in_period(incs: list[spikes.Incident]) -> list[spikes.Incident]:
        return [i for i in incs if spikes.bucket_start(start, i.end + 1, bucket) > period_start]

    found = {metric: in_period(incs) for metric, incs in spikes.brand_incidents(series, bucket, params).items()}
    found_alerts = [_alert(con, brand, "all", metric, inc, series, start, bucket)
                    for metric, incs in found.items() for inc in incs]
    sources = store.brand_sources(con, brand.name)
    if len(sources) > 1:  # a source-level incident the brand-wide series did not show (drowned in the total)
        brand_wide = [i for incs in found.values() for i in incs]
        for source in sources:
            source_series = store.bucket_series(con, brand.name, start, until, bucket, source=source)
            for metric, incs in spikes.brand_incidents(source_series, bucket, params).items():
                for inc in in_period(incs):
                    if not any(inc.overlaps(b) for b in brand_wide):
                        found_alerts.append(_alert(con, brand, source, metric, inc, source_series, start, bucket))
    return found_alerts


def _alert(con: store.Connection, brand: BrandConfig, source: str, metric: str, inc: spikes.Incident,
           series: store.Row, origin: datetime, bucket: int) -> store.Row:
    """Read what the incident's window and its baseline hold; analysis.detection.alerts makes the alert of them."""
    window = alerts.incident_window(origin, inc, bucket)
    only = None if source == "all" else source
    return alerts.assemble_alert(
        brand=brand.name, exclude_terms=brand.terms, source=source, metric=metric, incident=inc, series=series,
        origin=origin, bucket_seconds=bucket,
        mentions=store.mentions_between(con, brand.name, window.start, window.end, source=only),
        baseline=store.mentions_between(con, brand.name, window.start - alerts.THEME_BASELINE, window.start,
                                        source=only, sample=alerts.THEME_BASELINE_SAMPLE),
    )


@task
def detect_alerts(db_path: str, brands: list[str], period_start: datetime, until: datetime, config: MonitorConfig, run_id: str) -> list[str]:
    with store.connection(db_path) as con:
        found = [a for b in config.brands if b.name in brands
                 for a in detect_brand_alerts(con, b, period_start, until, config)]
        return store.save_alerts(con, found, run_id)
