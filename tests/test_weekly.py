"""The weekly digest: its cadence, its figures against the store, its CSV, and how it reads."""
import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from analysis import store
from flows.cadence import latest_send_time, parse_send_at, weekly_plan
from flows.config import ConfigError, parse_config
from reports import mailer
from reports.mention_csv import mentions_csv
from reports.weekly import build_weekly_context, health_rows, language_rows, render_weekly, theme_lists

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc


def test_send_at_is_a_weekday_and_a_time():
    assert parse_send_at("Monday 08:00")[0] == 0 and parse_send_at("sunday 18:30")[1].minute == 30
    for bad in ("monday", "funday 08:00", "monday 8am", "monday 25:00"):
        with pytest.raises(ValueError, match="send_at"):
            parse_send_at(bad)


def test_the_latest_send_time_is_read_on_the_group_calendar_across_a_clock_change():
    # Sunday 25 Oct 2026 the UK leaves summer time: Monday 08:00 is 07:00 UTC before, 08:00 UTC after.
    assert latest_send_time("monday 08:00", LONDON, datetime(2026, 10, 20, 12, tzinfo=UTC)) == \
        datetime(2026, 10, 19, 7, tzinfo=UTC)
    assert latest_send_time("monday 08:00", LONDON, datetime(2026, 10, 26, 8, tzinfo=UTC)) == \
        datetime(2026, 10, 26, 8, tzinfo=UTC)  # exactly at the send time: this week's
    assert latest_send_time("monday 08:00", LONDON, datetime(2026, 10, 26, 7, 59, tzinfo=UTC)) == \
        datetime(2026, 10, 19, 7, tzinfo=UTC)  # a minute before: last week's
    plan = weekly_plan("marketing", "monday 08:00", LONDON, datetime(2026, 10, 28, tzinfo=UTC))
    assert plan.end - plan.start == timedelta(days=7) and plan.key == "week-2026-10-26T0800"
    explicit = weekly_plan("marketing", "monday 08:00", LONDON, datetime(2026, 10, 28, tzinfo=UTC),
                           until=datetime(2026, 10, 1, tzinfo=UTC))
    assert explicit.end == datetime(2026, 10, 1, tzinfo=UTC) and explicit.start == datetime(2026, 9, 24, tzinfo=UTC)


def _config(**group):
    return parse_config({
        "brands": [{"name": "Acme", "sources": [{"source": "feed", "targets": ["https://a.example/f"]}]}],
        "digest": {"sender": "r@acme.example", "groups": [{"name": "marketing", "recipients": ["m@acme.example"],
                                                            **group}]},
    })


def test_a_group_chooses_its_cadence_and_a_bad_one_is_named():
    config = _config(cadence="weekly", send_at="friday 17:00", timezone="America/New_York")
    assert [g.name for g in config.groups("weekly")] == ["marketing"] and not config.groups("daily")
    assert str(config.group_tz(config.digest.groups[0])) == "America/New_York"
    assert _config().digest.groups[0].cadence == "daily"
    with pytest.raises(ConfigError, match=r"digest.groups\[0\] \(marketing\).send_at: .*weekday and a time"):
        _config(cadence="weekly", send_at="fri 5pm")
    with pytest.raises(ConfigError, match="cadence"):
        _config(cadence="monthly")
    with pytest.raises(ConfigError, match="unknown time zone"):
        _config(timezone="Mars/Olympus")


def test_run_weekly_without_a_weekly_group_is_a_usage_error(tmp_path, capsys):
    from flows.cli import EXIT_USAGE, main

    path = tmp_path / "monitor.yaml"
    path.write_text("brands: [{name: Acme, sources: [{source: feed, targets: ['https://a.example/f']}]}]\n"
                    "digest: {sender: r@acme.example, groups: [{name: support, recipients: [s@acme.example]}]}\n")
    assert main(["run", "--config", str(path), "--cadence", "weekly"]) == EXIT_USAGE
    assert "no digest group has cadence: weekly" in capsys.readouterr().err


def test_the_csv_defuses_formulas_and_keeps_every_field():
    rows = [{"brand": "Acme", "text": "=HYPERLINK(\"http://evil\")", "title": "+1 great", "author": "@bob",
             "published_at": datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "rating": 4, "replied": True, "url": None},
            {"brand": "Acme", "text": "line one\nline two, \"quoted\"", "title": "-", "rating": None, "replied": False,
             "published_at": datetime(2026, 7, 1, 12, tzinfo=UTC)}]
    fields = ("brand", "published_at", "rating", "replied", "url", "author", "title", "text")
    data = mentions_csv(rows, fields, LONDON)
    assert data.startswith("\ufeff".encode())
    read = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert read[0]["text"].startswith("'=") and read[0]["title"] == "'+1 great" and read[0]["author"] == "'@bob"
    assert read[0]["published_at"] == "2026-11-30 23:30" and read[1]["published_at"] == "2026-07-01 13:00"  # BST
    assert read[0]["replied"] == "yes" and read[1]["replied"] == "no" and read[1]["rating"] == "" and read[0]["url"] == ""
    assert read[1]["text"] == "line one\nline two, \"quoted\"" and read[1]["title"] == "'-"


def test_a_digest_carries_its_csv_and_the_outbox_keeps_it(tmp_path):
    message = mailer.build_message("Weekly", "r@acme.example", ["m@acme.example"], "<p>hi</p>", "hi",
                                   [("week.csv", b"\xef\xbb\xbfbrand\r\nAcme\r\n", "text/csv")])
    paths = mailer.write_outbox(tmp_path, "week", "<p>hi</p>", "hi", message, {"csv": b"brand\r\nAcme\r\n"})
    loaded = mailer.load_message(paths["eml"])
    (attachment,) = list(loaded.iter_attachments())
    assert attachment.get_filename() == "week.csv" and attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True).endswith(b"Acme\r\n")
    assert loaded.get_body(("html",)).get_content().strip() == "<p>hi</p>"
    assert open(paths["csv"], "rb").read() == b"brand\r\nAcme\r\n"


def test_a_source_failing_three_days_of_seven_is_news():
    day = datetime(2026, 11, 23, 9, tzinfo=UTC)
    checks = []
    for d in range(7):
        for hour in (0, 6):  # two checks a day (a nightly run and a watch round): one failure fails the day
            checks.append({"brand": "Acme", "source": "trustpilot", "target": "acme.com",
                           "ok": not (d in (1, 3, 5) and hour == 6), "error": "HTTP 403" if d in (1, 3, 5) else None,
                           "checked_at": day + timedelta(days=d, hours=hour)})
            checks.append({"brand": "Acme", "source": "feed", "target": "f", "ok": d != 2, "error": "timeout",
                           "checked_at": day + timedelta(days=d, hours=hour)})
    rows = health_rows(checks, LONDON)
    assert [(r["source"], r["failed_days"], r["days"], r["news"]) for r in rows] == \
        [("trustpilot", 3, 7, True), ("feed", 1, 7, False)]
    assert rows[0]["error"] == "HTTP 403"


def test_complaint_themes_compare_complaints_with_earlier_complaints():
    usual = ["told me to wait, customer service is the worst", "called twice, customer service told me nothing",
             "worst customer service, told to call back", "the driver never came and I was told to wait"] * 10
    now = ["charged twice for one parcel, customer service told me nothing",
           "charged twice and no refund, worst customer service", "I was charged twice, still no refund",
           "refund please, charged twice"]
    lists = theme_lists(now * 3, usual, now * 3 + ["love it"] * 5, usual + ["love it"] * 20, exclude=["Acme"])
    assert "charged twice" in lists["complaints_rising"] and "refund" in lists["complaints_rising"]
    assert not {"customer service", "told", "worst"} & set(lists["complaints_rising"])
    assert "wait" in lists["complaints_falling"] and "please charged" not in lists["complaints_rising"]


def _week(start, mentions, negative, scored, rating):
    return {"start": start, "mentions": mentions, "negative": negative, "scored": scored,
            "mean_sentiment": 0.1, "mean_rating": rating, "rated": 5 if rating else 0}


def test_the_context_compares_weeks_and_brands_and_escapes_what_was_scraped():
    end = datetime(2026, 11, 30, 8, tzinfo=UTC)
    starts = [end - timedelta(weeks=8 - i) for i in range(8)]
    figures = {"Acme": [_week(s, 100, 10, 100, 4.0) for s in starts[:-2]] + [_week(starts[-2], 100, 10, 100, 4.0),
                                                                            _week(starts[-1], 150, 45, 150, 3.5)],
               "Rival": [_week(s, 50, 5, 50, None) for s in starts]}
    replies = {"Acme": [{"answerable": 10, "answered": 5, "median_reply_seconds": 7200}] * 7
               + [{"answerable": 10, "answered": 8, "median_reply_seconds": 3600}],
               "Rival": [{"answerable": 0, "answered": 0, "median_reply_seconds": None}] * 8}
    alert = {"alert_id": "a1", "brand": "Acme", "source": "all", "metric": "mentions", "severity": "high",
             "incident_start": end - timedelta(days=2), "last_bucket": end - timedelta(days=2) + timedelta(hours=4),
             "bucket_seconds": 3600, "observed": 60.0, "expected": 4.0, "details": {"terms": ["outage"]}}
    pushed = {"a1": [{"kind": "opened", "sent_at": end - timedelta(days=2), "recipient_group": "support",
                      "services": "Slack"}]}
    evil = {"brand": "Acme", "source": "trustpilot", "published_at": end - timedelta(days=1), "rating": 1,
            "title": "<script>alert(1)</script>", "text": "bad", "url": "javascript:alert(1)"}
    context = build_weekly_context(
        title="Acme weekly", period_start=end - timedelta(days=7), period_end=end, tz=LONDON,
        brands=[{"name": "Rival", "competitor": True}, {"name": "Acme", "competitor": False}],
        figures=figures, replies=replies, alerts=[alert], pushed=pushed,
        themes_by_brand={"Acme": {"complaints_rising": ["outage"], "complaints_falling": [], "topics_rising": []}},
        best=[], worst=[evil], checks=[], export={"name": "w.csv", "rows": 150, "attached": True})
    acme, rival = context["board"]
    assert acme["brand"] == "Acme" and rival["competitor"]  # own brand first
    assert acme["mentions"]["value"] == "150" and acme["mentions"]["display"] == "+50%"
    assert acme["negative_share"]["value"] == "30%" and acme["negative_share"]["display"] == "+20 pts"
    assert acme["negative_share"]["good"] is False
    assert acme["share_of_voice"]["value"] == "75%" and acme["share_of_voice"]["display"] == "+8 pts"  # 150/200 vs 100/150
    assert acme["reply_rate"]["value"] == "80%" and acme["reply_rate"]["display"] == "+30 pts"
    assert acme["median_reply"]["value"] == "1 hour" and acme["median_reply"]["good"] is True
    assert rival["mean_rating"]["value"] == "–" and rival["reply_rate"]["value"] == "–"
    (trend,) = context["trends"]
    assert len(trend["rows"]) == 8 and trend["rows"][-1]["mentions_bar"] == 100
    (incident,) = context["incidents"]
    assert incident["lasted"] == "5 hours" and "(15×)" in incident["height"] and "support (Slack)" in incident["pushed"]
    assert context["status"]["level"] == "alert" and "1 incident" in context["status"]["line"]
    rendered = render_weekly(context)
    assert "<script>alert(1)</script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "javascript:" not in rendered.html
    assert "attached as <b>w.csv</b>" in rendered.html and "Complaints rising" in rendered.html
    for forbidden in ("<script", "<svg", "<img", "<link", "<style"):
        assert forbidden not in rendered.html.lower()


def test_weekly_figures_are_the_stores_weeks(tmp_path):
    con = store.connect(":memory:")
    end = datetime(2026, 11, 30, 8, tzinfo=UTC)
    rows = []
    for week in range(9):  # the ninth week back is outside the eight
        for i in range(week + 1):
            rows.append({"source": "trustpilot", "external_id": f"w{week}-{i}", "kind": "review", "rating": 1 + (i % 5),
                         "published_at": end - timedelta(weeks=week, hours=1 + i), "url": None, "title": None,
                         "author": None, "text": f"review {i}"})
    store.save_mentions(con, "Acme", "trustpilot", "acme.com", rows, run_id="r")
    figures = store.weekly_figures(con, ["Acme", "Rival"], end, 8)
    assert [w["mentions"] for w in figures["Acme"]] == [8, 7, 6, 5, 4, 3, 2, 1]
    assert [w["mentions"] for w in figures["Rival"]] == [0] * 8
    assert figures["Acme"][-1]["start"] == end - timedelta(weeks=1) and figures["Acme"][-1]["mean_rating"] == 1.0
    best = store.ranked_reviews(con, ["Acme"], end - timedelta(weeks=1), end, best=True)
    worst = store.ranked_reviews(con, ["Acme"], end - timedelta(weeks=2), end, best=False)
    # "review 0" was posted in both weeks: one per text
    assert [r["rating"] for r in best] == [1] and [r["rating"] for r in worst] == [1, 2]
    con.close()


def test_the_week_by_language_compares_each_language_with_the_week_before():
    con = store.connect(":memory:")
    end = datetime(2026, 11, 30, 8, tzinfo=UTC)
    # (language, weeks back, label or None when the model does not read it, how many)
    made = [("en", 0, "neutral", 6), ("en", 0, "negative", 2), ("en", 1, "neutral", 8),
            ("es", 0, "negative", 3), ("es", 0, "positive", 1), ("es", 1, "positive", 2),
            ("ru", 0, None, 2)]
    rows, scores = [], []
    for language, back, label, count in made:
        for i in range(count):
            key = f"{language}-{back}-{label}-{i}"
            rows.append({"source": "reddit", "external_id": key, "kind": "post", "rating": None, "url": None,
                         "published_at": end - timedelta(weeks=back, hours=2 + i), "title": None, "author": None,
                         "text": key})
            scores.append({"source": "reddit", "external_id": key, "brand": "Acme", "compound": 0.0, "pos": 0.0,
                           "neu": 1.0, "neg": 0.0, "label": label, "rated_label": label, "model": "linear",
                           "language": language})
    store.save_mentions(con, "Acme", "reddit", "r/acme", rows, run_id="r")
    store.save_scores(con, scores)
    by_language = store.weekly_languages(con, ["Acme"], end)["Acme"]
    assert [e["language"] for e in by_language] == ["en", "es", "ru"]  # most mentions this week first
    assert by_language[1]["now"] == {"mentions": 4, "read": 4, "judged": 4, "negative": 3}
    assert by_language[1]["before"] == {"mentions": 2, "read": 2, "judged": 2, "negative": 0}
    con.close()

    english, spanish, russian = language_rows(by_language)
    assert (english["language"], english["mentions"]["value"], english["mentions"]["display"]) == ("English", "8", "+0%")
    assert spanish["negative_share"]["value"] == "75%" and spanish["negative_share"]["display"] == "+75 pts"
    assert spanish["negative_share"]["good"] is False and spanish["mentions"]["display"] == "+100%"
    assert russian["unread"] == 2 and russian["negative_share"]["value"] == "–" and english["unread"] == 0
    assert language_rows(by_language[:1]) == []  # one language: nothing to show
    context = build_weekly_context(
        title="Acme weekly", period_start=end - timedelta(days=7), period_end=end, tz=LONDON,
        brands=[{"name": "Acme", "competitor": False}],
        figures={"Acme": [_week(end - timedelta(weeks=8 - i), 10, 1, 10, None) for i in range(8)]},
        replies={"Acme": [{"answerable": 0, "answered": 0, "median_reply_seconds": None}] * 8}, alerts=[], pushed={},
        themes_by_brand={}, best=[], worst=[], checks=[], languages={"Acme": by_language})
    rendered = render_weekly(context)
    assert "Acme: the week by language" in rendered.html and "<th scope=\"row\" align=\"left\" style=\"color:#344054;font-weight:400;\">Spanish</th>" in rendered.html
    assert "  Spanish: 4 mentions (+100%), 75% negative (+75 pts)\n" in rendered.text
    assert "  Russian: 2 mentions (new), – negative, 2 not read\n" in rendered.text
    one = render_weekly({**context, "languages": [{"brand": "Acme", "rows": language_rows(
        [{**by_language[0], "now": {"mentions": 1, "read": 1, "judged": 1, "negative": 0}}, *by_language[1:]])}]})
    assert "  English: 1 mention (-88%), 0% negative (+0 pts)\n" in one.text
