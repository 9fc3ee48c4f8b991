"""VADER, the classic lexicon, kept for those who choose it (`sentiment: {model: vader}`): scores and driver words."""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import metadata

from vaderSentiment.vaderSentiment import NEGATE, SentimentIntensityAnalyzer

POSITIVE_CUTOFF = 0.05
NEGATIVE_CUTOFF = -0.05
# VADER's own negation scalar: a negated lexicon word counts this much the other way.
_NEGATION_SCALAR = -0.74
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*|[:;=][-']?[()dDpP]")


@lru_cache(maxsize=1)
def analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def version() -> str:
    return metadata.version("vaderSentiment")


def label_for(compound: float) -> str:
    """The usual VADER cut-offs: >= 0.05 positive, <= -0.05 negative."""
    if compound >= POSITIVE_CUTOFF:
        return "positive"
    if compound <= NEGATIVE_CUTOFF:
        return "negative"
    return "neutral"


def polarity(text: str) -> tuple[float, float, float, float]:
    """(neg, neu, pos, compound)."""
    s = analyzer().polarity_scores(text or "")
    return s["neg"], s["neu"], s["pos"], s["compound"]


def negated(word: str) -> bool:
    w = word.lower()
    return w in NEGATE or "n't" in w


def driver_words(text: str) -> list[tuple[str, float]]:
    """The lexicon words that moved VADER's score, with their signed valence, strongest first.

    Mirrors VADER's word-level rules that matter for an explanation: its
    lexicon, a negation in the three words before flips and damps a word, and
    an all-caps word in mixed-case text is emphasised.
    """
    lexicon = analyzer().lexicon
    words = _TOKEN.findall(text or "")
    mixed_case = any(w.isupper() for w in words) and not all(w.isupper() for w in words)
    found: dict[str, float] = {}
    for i, word in enumerate(words):
        key = word.lower().replace("’", "'")
        valence = lexicon.get(key)
        if valence is None:
            continue
        if mixed_case and word.isupper() and len(word) > 1:
            valence += 0.733 if valence > 0 else -0.733  # VADER's C_INCR
        if any(negated(w) for w in words[max(0, i - 3):i]):
            valence *= _NEGATION_SCALAR
        if abs(valence) > abs(found.get(key, 0.0)):
            found[key] = round(valence, 2)
    return sorted(found.items(), key=lambda kv: -abs(kv[1]))
