"""VADER sentiment, in batches, on all cores; labels and the words that drove a score."""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_CUTOFF = 0.05
NEGATIVE_CUTOFF = -0.05
# Below this many texts a process pool costs more than it saves.
PARALLEL_THRESHOLD = 4000


@dataclass(frozen=True)
class Score:
    compound: float
    pos: float
    neu: float
    neg: float
    label: str


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def label_for(compound: float) -> str:
    """The usual VADER cut-offs: >= 0.05 positive, <= -0.05 negative."""
    if compound >= POSITIVE_CUTOFF:
        return "positive"
    if compound <= NEGATIVE_CUTOFF:
        return "negative"
    return "neutral"


def score_text(text: str) -> Score:
    s = _analyzer().polarity_scores(text or "")
    return Score(s["compound"], s["pos"], s["neu"], s["neg"], label_for(s["compound"]))


def _score_chunk(texts: Sequence[str]) -> list[Score]:
    return [score_text(t) for t in texts]


def score_texts(texts: Sequence[str], workers: int | None = None, min_parallel: int = PARALLEL_THRESHOLD) -> list[Score]:
    """Scores in input order; spread over processes when the batch is large."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(texts) < min_parallel:
        return _score_chunk(texts)
    size = -(-len(texts) // (workers * 4))
    chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [score for chunk in pool.map(_score_chunk, chunks) for score in chunk]


# VADER's own negation scalar: a negated lexicon word counts this much the other way.
_NEGATION_SCALAR = -0.74
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'’]*|[:;=][-']?[()dDpP]")


def driver_words(text: str, top: int = 3) -> list[tuple[str, float]]:
    """The lexicon words that moved VADER's score most, with their signed valence.

    Mirrors VADER's word-level rules that matter for an explanation: its
    lexicon, a negation in the three words before flips and damps a word, and
    an all-caps word in mixed-case text is emphasised.
    """
    analyzer = _analyzer()
    words = _TOKEN.findall(text or "")
    mixed_case = any(w.isupper() for w in words) and not all(w.isupper() for w in words)
    found: dict[str, float] = {}
    for i, word in enumerate(words):
        key = word.lower().replace("’", "'")
        valence = analyzer.lexicon.get(key)
        if valence is None:
            continue
        if mixed_case and word.isupper() and len(word) > 1:
            valence += 0.733 if valence > 0 else -0.733  # VADER's C_INCR
        if any(vader_negated(w) for w in words[max(0, i - 3):i]):
            valence *= _NEGATION_SCALAR
        if abs(valence) > abs(found.get(key, 0.0)):
            found[key] = round(valence, 2)
    return sorted(found.items(), key=lambda kv: -abs(kv[1]))[:top]


def vader_negated(word: str) -> bool:
    from vaderSentiment.vaderSentiment import NEGATE

    w = word.lower()
    return w in NEGATE or "n't" in w


def rating_label(rating: float | None, text_label: str) -> str:
    """The customer's own verdict where there are stars (4-5 positive, 1-2 negative); the text's otherwise."""
    if rating is None:
        return text_label
    if rating >= 4:
        return "positive"
    if rating <= 2:
        return "negative"
    return text_label
