"""From stored mentions to alerts: brand-wide incidents, and a source's incident drowned in the total."""
from datetime import datetime, timedelta, timezone

import numpy as np

from analysis import store
from flows.config import parse_config
from flows.tasks.detection import detect_brand_alerts

UNTIL = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)
CONFIG = parse_config({
    "brands": [{"name": "Acme", "terms": ["Acme"], "sources": [{"source": "feed", "targets": ["u"]}]}],
    "digest": {"sender": "r@acme.example", "groups": [{"name": "support", "recipients": ["s@acme.example"]}]},
    "detection": {"history_days": 28},
})


def fill(con, source, per_hour, burst_hours=(), burst=0, text="fine delivery as usual", burst_text="app outage, refund now"):
    rng = np.random.default_rng(len(source))
    start = UNTIL - timedelta(days=28)
    rows = []
    for h in range(28 * 24):
        t = start + timedelta(hours=h)
        for j in range(rng.poisson(per_hour)):
            rows.append({"source": source, "external_id": f"{source}-{h}-{j}", "published_at": t + timedelta(seconds=j),
                         "text": text, "raw": {}})
        if h in burst_hours:
            for j in range(burst):
                rows.append({"source": source, "external_id": f"{source}-{h}-b{j}",
                             "published_at": t + timedelta(seconds=30 + j), "text": burst_text, "raw": {}})
    store.save_mentions(con, "Acme", source, "u", rows, run_id="r")


def test_source_incident_hidden_in_the_total_is_alerted_for_that_source():
    con = store.connect(":memory:")
    last_night = {28 * 24 - 6, 28 * 24 - 5, 28 * 24 - 4}
    fill(con, "hackernews", 60.0)
    fill(con, "appstore", 0.3, last_night, burst=6)
    alerts = detect_brand_alerts(con, CONFIG.brands[0], UNTIL - timedelta(days=1), UNTIL, CONFIG)
    assert [(a["source"], a["metric"]) for a in alerts] == [("appstore", "mentions")]
    (alert,) = alerts
    assert alert["observed"] >= 18 and alert["details"]["mentions"] >= 18
    terms = alert["details"]["terms"]
    assert any("outage" in t for t in terms) and any("refund" in t for t in terms)
    assert alert["alert_id"].startswith("Acme|appstore|mentions|")


def test_quiet_month_raises_nothing():
    con = store.connect(":memory:")
    fill(con, "hackernews", 8.0)
    fill(con, "appstore", 0.5)
    assert detect_brand_alerts(con, CONFIG.brands[0], UNTIL - timedelta(days=1), UNTIL, CONFIG) == []


def test_a_rating_alert_is_explained_by_its_lowest_rated_reviews():
    from analysis.detection.alerts import examples as _examples

    def m(text, compound, rating):
        return {"text": text, "title": None, "compound": compound, "rating": rating, "url": None, "source": "appstore",
                "drivers": [], "published_at": UNTIL}

    mentions = [m("angry post", -0.9, None), m("meh review", -0.2, 3.0), m("crash at login", -0.4, 1.0),
                m("slow", -0.1, 2.0)]
    assert [e["text"] for e in _examples(mentions)] == ["angry post", "crash at login", "meh review"]
    rated = [x for x in mentions if x["rating"] is not None]
    assert [e["text"] for e in _examples(rated, by_rating=True)] == ["crash at login", "slow", "meh review"]


def test_a_rating_alert_shows_only_reviews_below_the_usual_rating():
    from analysis.detection.alerts import assemble_alert
    from analysis.detection.spikes import Incident

    def review(text, rating, minute):
        return {"text": text, "title": None, "compound": -0.5 if rating <= 2 else 0.8, "rating": rating,
                "rated_label": "negative" if rating <= 2 else "positive", "label": None, "url": None,
                "source": "appstore", "published_at": UNTIL - timedelta(minutes=minute)}

    reviews = [review("crash at login", 1, 50), review("charged twice", 1, 40), review("painless, love it", 5, 30)]
    rated, stars = np.zeros(24), np.zeros(24)
    rated[20], stars[20] = 3, 7  # a mean of 2.3 stars where it is usually 4
    series = {"rated": rated, "rating_sum": stars, "negative": np.zeros(24)}
    incident = Incident(start=20, end=20, peak=20, observed=7 / 3, expected=4.0, pvalue=1e-4, ongoing=True, fired=20)
    alert = assemble_alert(brand="Acme", exclude_terms=[], source="all", metric="rating", incident=incident,
                           series=series, origin=UNTIL - timedelta(hours=24), bucket_seconds=3600,
                           mentions=reviews, baseline=[])
    assert (alert["observed"], alert["expected"]) == (7 / 3, 4.0)
    assert [e["text"] for e in alert["details"]["examples"]] == ["crash at login", "charged twice"]
