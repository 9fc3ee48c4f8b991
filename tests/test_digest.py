"""The digest renders what the reader needs, and untrusted text stays text."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from reports.digest import DigestInputs, build_context, kpi_tiles, render_digest
from reports.wording import safe_url

UTC = timezone.utc
END = datetime(2026, 11, 24, 6, tzinfo=UTC)
START = END - timedelta(days=1)
KPI = {"mentions": 40, "mean_sentiment": -0.31, "negative": 20, "scored": 40, "mean_rating": None, "rated": 0}
BEFORE = {"mentions": 10, "mean_sentiment": 0.2, "negative": 1, "scored": 10, "mean_rating": None, "rated": 0}
EMPTY = {"mentions": 0, "mean_sentiment": None, "negative": 0, "scored": 0, "mean_rating": None, "rated": 0}


def context(**over):
    args = dict(
        title="Acme digest", period_start=START, period_end=END, tz=ZoneInfo("Europe/Paris"),
        brands=[{"name": "Acme", "competitor": False}, {"name": "Rival", "competitor": True}],
        kpis_now={"Acme": KPI, "Rival": {**EMPTY, "mentions": 10}}, kpis_before={"Acme": BEFORE, "Rival": EMPTY},
        alerts=[{"brand": "Acme", "source": "all", "metric": "negative", "severity": "high",
                 "incident_start": END - timedelta(hours=7), "observed": 30, "expected": 2, "ongoing": False,
                 "last_bucket": END - timedelta(hours=4), "bucket_seconds": 3600,
                 "details": {"terms": ["login", "refund"], "examples": [
                     {"text": "<script>alert(1)</script> app down", "url": "javascript:alert(1)",
                      "published_at": END - timedelta(hours=6)}]}}],
        negatives=[{"brand": "Acme", "source": "hackernews", "published_at": END - timedelta(hours=5),
                    "url": "https://news.ycombinator.com/item?id=1", "title": None, "author": "<b>x</b>",
                    "text": "Login broken <img src=x onerror=alert(2)>", "rating": None, "compound": -0.7,
                    "label": "negative", "rated_label": "negative", "drivers": [["broken", -1.4], ["<i>x</i>", -1.0]]}],
        health=[{"brand": "Acme", "source": "hackernews", "target": "Acme", "ok": True, "fetched": 40, "new": 38, "error": None},
                {"brand": "Acme", "source": "feed", "target": "https://x.example/f", "ok": False, "fetched": 0, "new": 0,
                 "error": "FatalHTTPError: HTTP 404 from https://x.example/f"}],
        trend=[{"label": "Mon 23 Nov", "count": 40, "alert": True}],
    )
    args.update(over)
    return build_context(DigestInputs(**args))


def test_status_line_leads_with_the_alert_and_failing_sources():
    status = context()["status"]
    assert status["level"] == "alert"
    assert status["line"] == "HIGH: Acme: 30 negative mentions where about 2 were expected since Tue 24 Nov 00:00; 1 of 2 sources failing"


def test_status_when_quiet_and_when_a_source_is_broken():
    assert context(alerts=[], health=[])["status"] == {"level": "ok", "line": "All quiet: 40 mentions, no alerts"}
    assert context(alerts=[])["status"]["level"] == "warning"


def test_kpi_tiles_show_change():
    tiles = kpi_tiles(KPI, BEFORE)
    assert [(t["name"], t["value"], t["display"]) for t in tiles] == [
        ("Mentions", "40", "+300%"), ("Mean sentiment", "-0.31", "-0.51"), ("Negative share", "50%", "+40 pts")]
    assert [t["good"] for t in tiles] == [None, False, False]


def test_html_escapes_scraped_text_and_drops_unsafe_links():
    digest = render_digest(context())
    assert "<script>alert(1)" not in digest.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in digest.html
    assert "<img src=x" not in digest.html and "<b>x</b>" not in digest.html
    assert "javascript:" not in digest.html
    assert 'href="https://news.ycombinator.com/item?id=1"' in digest.html


def test_html_is_email_safe():
    html = render_digest(context()).html.lower()
    for forbidden in ("<script", "<link", "<svg", "<style", "<img", "@import"):
        assert forbidden not in html


def test_digest_shows_alert_terms_failing_source_and_competitors():
    digest = render_digest(context())
    assert digest.subject == "[ALERT] Acme digest: Tue 24 Nov 07:00"
    for text in (digest.html, digest.text):
        assert "login" in text and "refund" in text
        assert "FAILED" in text and "HTTP 404" in text
        assert "Rival" in text
    assert "<script>alert(1)</script>" in digest.text  # plain text is not HTML: shown as written


def test_driver_words_are_shown_and_escaped():
    digest = render_digest(context())
    assert "<b>broken</b> -1.4" in digest.html and "&lt;i&gt;x&lt;/i&gt;" in digest.html
    assert "why: broken -1.4" in digest.text


def test_rating_alert_reads_in_stars():
    alert = {"brand": "Acme", "source": "all", "metric": "rating", "severity": "medium", "ongoing": True,
             "incident_start": END - timedelta(hours=5), "last_bucket": END - timedelta(hours=1), "bucket_seconds": 3600, "observed": 1.8, "expected": 4.3, "details": {}}
    assert "mean rating 1.8★ where it is usually 4.3★" in context(alerts=[alert])["status"]["line"]


def test_safe_url():
    assert safe_url("https://a.example/x") == "https://a.example/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "/relative", "http://", None, 3):
        assert safe_url(bad) is None


WAITING = [
    {"brand": "Acme", "source": "trustpilot", "external_id": "t1", "published_at": END - timedelta(days=3, hours=2),
     "url": "https://tp.example/reviews/t1", "title": "Lost <b>parcel</b>", "text": "Nobody answers " * 20,
     "rating": 1.0, "author": "Jo", "app_version": None},
    {"brand": "Acme", "source": "appstore", "external_id": "a1", "published_at": END - timedelta(hours=5),
     "url": "javascript:alert(1)", "title": None, "text": "Crashes at login", "rating": 2.0, "author": None,
     "app_version": "5.2.0"},
]


def test_waiting_for_a_reply_sits_under_the_alerts_oldest_first_with_ages():
    digest = render_digest(context(awaiting=WAITING, awaiting_total=7))
    html = digest.html
    section = html[html.index(">Waiting for a reply"):html.index(">Negative mentions</h2>")]
    assert html.index(">Alerts</h2>") < html.index(">Waiting for a reply") < html.index(">Negative mentions</h2>")
    assert section.index("3 days") < section.index("5 hours")
    assert "(7, oldest first)" in section and "and 5 more" in section
    assert "★☆☆☆☆" in section and "★★☆☆☆" in section and "v5.2.0" in section
    assert 'href="https://tp.example/reviews/t1"' in section and "javascript:" not in section
    assert "Lost &lt;b&gt;parcel&lt;/b&gt;" in section  # the title stays text
    assert "- 3 days · 1 stars · trustpilot · Acme" in digest.text and "and 5 more" in digest.text


def test_quiet_day_status_names_the_reply_backlog():
    status = context(alerts=[], health=[], awaiting=WAITING, awaiting_total=2)["status"]
    assert status == {"level": "ok", "line": "All quiet: 40 mentions, no alerts; 2 negative reviews waiting for a reply"}
    assert "No negative review is waiting for a reply." in render_digest(context()).html


def test_reply_tiles_and_competitor_reply_rates():
    replies_now = {"Acme": {"answerable": 8, "answered": 6, "median_reply_seconds": 5 * 3600},
                   "Rival": {"answerable": 4, "answered": 1, "median_reply_seconds": 2 * 86400}}
    replies_before = {"Acme": {"answerable": 5, "answered": 5, "median_reply_seconds": 2 * 3600},
                      "Rival": {"answerable": 0, "answered": 0, "median_reply_seconds": None}}
    ctx = context(replies_now=replies_now, replies_before=replies_before,
                  overall_ratings=[{"brand": "Rival", "source": "trustpilot", "target": "rival.example", "rating": 4.1,
                                    "count": 2100}])
    tiles = {t["name"]: t for t in ctx["tiles"][0]["metrics"]}
    assert (tiles["Replied"]["value"], tiles["Replied"]["display"], tiles["Replied"]["good"]) == ("75%", "-25 pts", False)
    assert tiles["Replied"]["detail"] == "6 of 8 reviews"
    # The trailing window's rate, with the period's own count beside it (a day's reviews are mostly unanswered yet).
    period = {"Acme": {"answerable": 3, "answered": 0, "median_reply_seconds": None}}
    tiles = {t["name"]: t for t in context(replies_now=replies_now, replies_before=replies_before,
                                           replies_period=period)["tiles"][0]["metrics"]}
    assert (tiles["Replied"]["value"], tiles["Replied"]["detail"]) == (
        "75%", "6 of 8 reviews in 30 days (this period: 0 of 3)")
    assert (tiles["Time to reply"]["value"], tiles["Time to reply"]["display"], tiles["Time to reply"]["good"]) == (
        "5 hours", "+3 hours", False)
    rival = next(c for c in ctx["comparison"] if c["brand"] == "Rival")
    assert (rival["reply_rate"], rival["median_reply"]) == (0.25, "2 days")
    html = render_digest(ctx).html
    assert "in 2 days" in html and "Rival 4.1★ on trustpilot (2,100 reviews)" in html


def test_expected_reads_as_a_person_says_it():
    from reports.wording import describe_alert

    assert describe_alert("mentions", 48, 0.4) == "48 mentions where about 0.4 were expected"
    assert describe_alert("negative", 30, 2.0) == "30 negative mentions where about 2 were expected"
    assert describe_alert("mentions", 12, 0.02) == "12 mentions where almost none were expected"
    assert describe_alert("mentions", 300, 48.4) == "300 mentions where about 48 were expected"


def test_a_young_baseline_says_it_is_still_learning():
    from reports.digest import learning_notes
    starts = {"Acme": END - timedelta(days=4, hours=3), "Rival": END - timedelta(days=30)}
    notes = learning_notes(starts, ["Acme", "Rival", "Newco"], END, 7)
    assert notes == [
        "Acme: baseline still learning, 4 days of history. Until it has 7 days, an alert needs a larger rise than usual.",
        "Newco: baseline still learning, no history yet. Until it has 7 days, an alert needs a larger rise than usual.",
    ]
    digest = render_digest(context(learning=notes))
    assert "Acme: baseline still learning, 4 days of history" in digest.html
    assert digest.html.index("still learning") < digest.html.index(">Alerts</h2>")
    assert "Acme: baseline still learning" in digest.text
    assert "still learning" not in render_digest(context()).html


@pytest.mark.parametrize("hour", range(24))
def test_demo_incident_is_in_the_reported_day_at_any_hour(hour):
    from flows.demo import data as demo_data
    from flows.demo import review_data
    zone = ZoneInfo("Europe/London")
    now = datetime(2026, 12, 2, hour, 30, tzinfo=zone).astimezone(timezone.utc)
    period_end = now.replace(minute=0)  # the default run: the 24 hours up to the last full hour
    incident = [it.created for it in demo_data.generate(now, zone)
                if it.brand == demo_data.BRAND and "is down" in it.title + it.text]
    assert incident and max(incident) <= now
    assert period_end - timedelta(days=1) < max(incident)  # the run that reports on it sees it end
    assert all(r.created <= now and (r.replied_at is None or r.replied_at <= now)
               for r in review_data.generate_reviews(now, zone))


def test_an_incident_says_whether_it_is_still_going_on_or_since_when_it_is_back_to_normal():
    base = {"brand": "Acme", "source": "all", "metric": "mentions", "severity": "high", "ongoing": True,
            "incident_start": END - timedelta(hours=8), "observed": 60, "expected": 5, "bucket_seconds": 3600,
            "details": {}}
    still = {**base, "last_bucket": END - timedelta(hours=1)}  # the period's last hour is still high
    calmed = {**base, "last_bucket": END - timedelta(hours=3)}  # back down two hours before the digest
    rows = context(alerts=[still, calmed])["alerts"]
    assert rows[0]["state"] == "still going on"
    assert rows[1]["state"] == "back to normal since " + (END - timedelta(hours=2)).astimezone(
        ZoneInfo("Europe/Paris")).strftime("%a %d %b %H:%M")
    text = render_digest(context(alerts=[calmed])).text
    assert "(back to normal since" in text and "still going on" not in text


def test_the_digest_says_how_many_mentions_were_left_unscored_and_in_which_language():
    spanish = {"brand": "Acme", "source": "trustpilot", "published_at": END - timedelta(hours=3), "url": None,
               "title": None, "author": None, "text": "Nunca llegó", "rating": 1.0, "compound": None, "label": None,
               "rated_label": "negative", "text_language": "es", "drivers": []}
    digest = render_digest(context(unscored={"es": 7, "de": 2}, negatives=[spanish]))
    note = "9 mentions were not scored for sentiment: 7 in Spanish, 2 in German"
    assert note in digest.html and note in digest.text
    assert "text not scored (Spanish)" in digest.html and "text not scored (Spanish)" in digest.text
    assert "not scored for sentiment" not in render_digest(context()).html
    read = render_digest(context(read={"en": 120, "es": 8, "ar": 3}))
    assert "Read in 3 languages: 120 in English, 8 in Spanish, 3 in Arabic." in read.html
    assert "Read in" not in render_digest(context(read={"en": 120})).html  # one language: nothing to say


def test_an_alert_says_when_it_was_already_pushed_and_to_whom():
    pushed = {"Acme|all|negative|x": [
        {"kind": "opened", "sent_at": END - timedelta(hours=6, minutes=45), "recipient_group": "support",
         "services": "Slack"},
        {"kind": "ended", "sent_at": END - timedelta(hours=2), "recipient_group": "support", "services": "Slack"}]}
    base = context()["alerts"][0]
    assert base["pushed"] is None
    alerts = [{**a, "alert_id": "Acme|all|negative|x"} for a in [
        {"brand": "Acme", "source": "all", "metric": "negative", "severity": "high",
         "incident_start": END - timedelta(hours=7), "observed": 30, "expected": 2, "ongoing": False,
         "last_bucket": END - timedelta(hours=4), "bucket_seconds": 3600, "details": {}}]]
    digest = render_digest(context(alerts=alerts, pushed=pushed))
    line = "the alert at Tue 24 Nov 00:15 to support (Slack); back to normal at Tue 24 Nov 05:00 to support (Slack)"
    assert f"Already pushed: {line}" in digest.html and f"already pushed: {line}" in digest.text


def test_an_escalated_incident_says_so_and_since_when():
    alert = {"brand": "Acme", "source": "all", "metric": "mentions", "severity": "high", "ongoing": True,
             "incident_start": END - timedelta(hours=3), "last_bucket": END - timedelta(hours=1), "bucket_seconds": 3600,
             "observed": 600, "expected": 12, "details": {"escalated_from": (END - timedelta(hours=7)).isoformat()}}
    digest = render_digest(context(alerts=[alert]))
    assert "Escalated: a much worse rise inside the incident that began Tue 24 Nov 00:00" in digest.html
    assert "escalated: a much worse rise inside the incident that began Tue 24 Nov 00:00" in digest.text
    assert "Escalated" not in render_digest(context()).html  # an ordinary alert does not say it


def test_a_push_of_an_escalated_incident_says_it_got_much_worse():
    from reports.push_message import compose

    alert = {"brand": "Acme", "source": "all", "metric": "mentions", "severity": "high", "ongoing": True,
             "incident_start": END - timedelta(hours=3), "last_bucket": END - timedelta(hours=1), "bucket_seconds": 3600,
             "observed": 600, "expected": 12, "details": {"peak": 300, "terms": ["outage"]}}
    title, _ = compose(alert, "new", ZoneInfo("Europe/Paris"))
    assert title.endswith("rising")
    escalated = {**alert, "details": {**alert["details"], "escalated_from": (END - timedelta(hours=7)).isoformat()}}
    title, body = compose(escalated, "new", ZoneInfo("Europe/Paris"))
    assert title == "[HIGH] Acme: mentions got much worse"
    assert "Now 300 in its busiest hour: a much worse rise inside the incident that began at 00:00." in body


def test_the_negative_list_shows_each_language_at_least_once():
    def row(i, lang):
        return {"brand": "Acme", "source": "hackernews", "published_at": END - timedelta(hours=1), "url": None,
                "title": None, "author": None, "text": f"complaint {lang} {i}", "rating": None, "compound": -0.9,
                "label": "negative", "rated_label": "negative", "text_language": lang, "drivers": []}
    negatives = [row(i, "en") for i in range(20)] + [row(0, "es"), row(1, "es"), row(0, "de")]
    shown = context(negatives=negatives)["negatives"]
    assert len(shown) == 8 and [n["text_language"] for n in shown].count("en") == 6
    assert {n["text"] for n in shown} >= {"complaint es 0", "complaint de 0"}
    assert "· in Spanish" in render_digest(context(negatives=negatives)).text


def test_a_title_the_text_already_holds_is_shown_once():
    # A Reddit post whose body repeats its title read "Anyone else? Anyone else?" in the negative list.
    post = {"brand": "Acme", "source": "reddit", "published_at": END - timedelta(hours=5), "url": None,
            "author": None, "rating": None, "compound": -0.7, "label": "negative", "rated_label": "negative",
            "drivers": [], "title": "Is the Acme app down for anyone?", "text": "Is the Acme app down for anyone?"}
    other = {**post, "title": "App down", "text": "Cannot log in since last night."}
    digest = render_digest(context(negatives=[post, other]))
    for body in (digest.html, digest.text):
        assert body.count("Is the Acme app down for anyone?") == 1
        assert "App down" in body and "Cannot log in since last night." in body
