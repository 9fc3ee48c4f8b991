"""Scores record their model; `repwatch rescore` and the nightly run keep a series on one model."""
import csv
from datetime import datetime, timedelta, timezone

import pytest

from analysis.sentiment import learned
from analysis import sentiment, store
from benchmarks import learn_sentiment
from flows.cli import main
from flows.config import parse_config
from flows.tasks.detection import detect_brand_alerts
from flows.tasks.scoring import score_unscored

UTC = timezone.utc
UNTIL = datetime(2026, 11, 30, 6, tzinfo=UTC)
COMPLAINT = "@Acme thanks for nothing, two hours on hold"  # VADER: positive; the learned model: negative
CONFIG = """
database: {db}
brands:
  - name: Acme
    sources:
      - source: hackernews
        targets: [Acme]
digest:
  sender: r@acme.example
  groups: [{{name: support, recipients: [s@acme.example]}}]
sentiment: {{model: {model}}}
"""


def mention(i, when, text, rating=None, language=None, kind="comment"):
    return {"source": "hackernews", "external_id": str(i), "published_at": when, "text": text, "url": None,
            "title": None, "author": "a", "kind": kind, "rating": rating, "replied": None, "language": language,
            "raw": {}}


def labels(con):
    return con.execute("""SELECT external_id, label, rated_label, text_language, split_part(sentiment_model, ':', 1)
                          FROM mentions ORDER BY CAST(external_id AS INT)""").fetchall()


def test_rescore_moves_every_stored_score_to_the_configured_model(tmp_path, capsys):
    db = tmp_path / "r.duckdb"
    con = store.connect(db)
    store.save_mentions(con, "Acme", "hackernews", "Acme", [
        mention(1, UNTIL - timedelta(days=3), COMPLAINT),
        mention(2, UNTIL - timedelta(days=2), "No llegó el pedido y nadie contesta", rating=1.0, kind="review"),
        mention(3, UNTIL - timedelta(days=1), "Great service, thank you", rating=5.0, kind="review", language="en"),
    ], run_id="r1")
    assert score_unscored(con, workers=1, model="vader") == 3
    assert labels(con) == [("1", "positive", "positive", "en", "vader"),
                           ("2", None, "negative", "es", "vader"),
                           ("3", "positive", "positive", "en", "vader")]
    con.close()
    config = tmp_path / "monitor.yaml"
    config.write_text(CONFIG.format(db=db, model="learned"))

    assert main(["rescore", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"rescored 3 mentions with {sentiment.model_id('learned')}" in out
    con = store.connect(db)
    # The Spanish review VADER left unscored is read now: the learned model reads eight languages.
    assert labels(con) == [("1", "negative", "negative", "en", "learned"),
                           ("2", "negative", "negative", "es", "learned"),
                           ("3", "positive", "positive", "en", "learned")]
    assert store.unscored_languages(con, ["Acme"], UNTIL - timedelta(days=7), UNTIL) == {}
    assert store.scored_languages(con, ["Acme"], UNTIL - timedelta(days=7), UNTIL) == {"en": 2, "es": 1}
    con.close()

    assert main(["rescore", "--config", str(config)]) == 0  # nothing left on another model
    assert "rescored 0 mentions" in capsys.readouterr().out
    assert main(["rescore", "--config", str(config), "--all", "--since", "2026-11-29"]) == 0
    assert "rescored 1 mentions" in capsys.readouterr().out
    assert main(["rescore", "--config", str(config), "--since", "yesterday"]) == 2
    assert "--since 'yesterday' is not a date" in capsys.readouterr().err


def _history(con, days=35, per_hour=4):
    """A brand whose mentions are, every hour, a third complaints that VADER reads as praise."""
    start = UNTIL - timedelta(days=days)
    rows = []
    for i in range(days * 24 * per_hour):
        when = start + timedelta(minutes=i * 60 // per_hour)
        rows.append(mention(i, when, COMPLAINT if i % 3 == 0 else f"Acme delivered order {i} on time"))
    store.save_mentions(con, "Acme", "hackernews", "Acme", rows, run_id="r1")
    return start


@pytest.mark.parametrize("rescore_history", [False, True])
def test_a_change_of_model_never_raises_an_alert_when_the_history_is_rescored(tmp_path, rescore_history):
    con = store.connect(":memory:")
    start = _history(con)
    last_night = UNTIL - timedelta(days=1)
    # Everything before last night was scored by VADER; then the config switched to the learned model.
    con.execute("UPDATE mentions SET scored_at = now() WHERE published_at >= ?", [last_night.replace(tzinfo=None)])
    score_unscored(con, workers=1, model="vader")
    con.execute("UPDATE mentions SET scored_at = NULL WHERE published_at >= ?", [last_night.replace(tzinfo=None)])
    score_unscored(con, workers=1, model="learned", rescore_since=start if rescore_history else None,
                   rescore=rescore_history)
    config = parse_config({
        "brands": [{"name": "Acme", "sources": [{"source": "hackernews", "targets": ["Acme"]}]}],
        "digest": {"sender": "r@acme.example", "groups": [{"name": "s", "recipients": ["s@acme.example"]}]},
    })
    found = detect_brand_alerts(con, config.brands[0], last_night, UNTIL, config)
    metrics = {a["metric"] for a in found}
    if rescore_history:
        assert metrics == set()
        assert {m for (m,) in con.execute("SELECT DISTINCT sentiment_model FROM mentions").fetchall()} == {
            sentiment.model_id("learned")}
    else:  # what the nightly rescoring prevents: the switch itself reads as a burst of complaints
        assert metrics & {"negative", "negative_share"}


def test_the_model_is_learned_again_from_a_folder(tmp_path, capsys):
    folder = tmp_path / "sentiment"
    folder.mkdir()
    phrases = {"negative": ["awful delay again", "worst support ever, still waiting", "refund never came, useless"],
               "neutral": ["the store opens at nine", "new depot in Leeds next month", "which plan has 5G"],
               "positive": ["lovely driver, thank you", "great app, works perfectly", "brilliant help, sorted fast"]}
    with (folder / "tweeteval-sentiment.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["split", "label", "text"])
        for i in range(40):
            for label, texts in phrases.items():
                w.writerow(["test", label, f"{texts[i % 3]} #{i}"])
    with (folder / "trustpilot-reviews.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(["id", "company", "rating", "language", "published_at", "replied_at", "title", "text"])
        for i in range(60):
            stars = 1 + i % 5
            text = phrases["negative" if stars <= 2 else "positive" if stars >= 4 else "neutral"][i % 3]
            w.writerow([f"r{i}", "acme.example", stars, "en", "", "", "", f"{text} ({i})"])
        w.writerow(["r-es", "acme.example", 1, "es", "", "", "", "Muy mal servicio"])
    out = tmp_path / "model.npz"
    assert learn_sentiment.main([str(folder), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held-out tweets" in printed and "held-out reviews" in printed and "vader" in printed
    model = learned.load(out)
    assert model.version.startswith("linear-")
    p = model.probabilities(["still waiting, awful", "thank you, brilliant"])
    assert p[0].argmax() == 0 and p[1].argmax() == 2
    assert learn_sentiment.main([str(tmp_path / "missing")]) == 2
