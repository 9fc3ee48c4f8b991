"""Themes, driver words and the rating-aware label."""
import pytest

from analysis.sentiment.scoring import driver_words, rating_label, score_text
from analysis.themes import mention_terms, rising_terms

from conftest import FIXTURES


def lines(name):
    return (FIXTURES / "themes" / name).read_text().splitlines()


def test_themes_name_the_injected_terms():
    terms = [t.term for t in rising_terms(lines("incident.txt"), lines("baseline.txt"), exclude=["Acme"])]
    assert set(terms[:3]) == {"login", "refund", "outage"}
    assert not any("acme" in t for t in terms)


def test_themes_need_repeated_evidence():
    themes = rising_terms(lines("incident.txt"), lines("baseline.txt"), exclude=["Acme"])
    assert "colours" not in [t.term for t in themes]  # said once
    assert all(t.count >= 3 for t in themes)


def test_terms_are_counted_once_per_mention_and_skip_stop_words():
    assert mention_terms("refund refund REFUND, the refund!") == {"refund"}  # no "refund refund" phrase
    assert mention_terms("I can't log in to Acme", frozenset({"acme"})) == {"log"}


def test_no_incident_text_no_themes():
    assert rising_terms([], lines("baseline.txt")) == []


def test_vader_driver_words_explain_a_negative_score():
    text = "Worst courier ever, furious about the lost parcel"
    drivers = driver_words(text, model="vader")
    assert [w for w, _ in drivers] == ["worst", "furious", "lost"]
    assert all(v < 0 for _, v in drivers) and score_text(text, model="vader").label == "negative"


def test_vader_driver_words_follow_vader_negation():
    assert driver_words("not good", model="vader:3.3.2") == [("good", pytest.approx(-0.74 * 1.9, abs=0.01))]


@pytest.mark.parametrize("rating, text_label, expected", [
    (5, "negative", "positive"),  # "Terrible wait, but they fixed it" with 5 stars: the stars say positive
    (1, "positive", "negative"),  # sarcasm: "Great, lost again" with 1 star
    (3, "negative", "negative"),
    (None, "neutral", "neutral"),
])
def test_rating_label_trusts_the_stars(rating, text_label, expected):
    assert rating_label(rating, text_label) == expected


def test_function_words_of_every_language_read_are_never_themes():
    # Posts written for this test: an incident in Spanish, German and romanised Hindi against a quiet baseline.
    incident = [f"La aplicación no funciona y el reembolso que pedí no llega {i}" for i in range(6)] + [
        f"Die Rückerstattung ist nicht angekommen und die App stürzt ab {i}" for i in range(6)] + [
        f"yaar app kaam nahi kar raha hai, refund bhi nahi aaya {i}" for i in range(6)]
    baseline = [f"Todo bien con el envío, gracias {i}" for i in range(20)] + [
        f"Alles gut mit der Lieferung, danke {i}" for i in range(20)]
    terms = {t.term for t in rising_terms(incident, baseline, top=20)}
    assert {"reembolso", "rückerstattung", "refund"} <= terms, terms
    function_words = {"la", "el", "que", "no", "y", "die", "ist", "und", "nicht", "hai", "nahi", "bhi", "yaar", "kar"}
    assert not {w for term in terms for w in term.split()} & function_words, terms
