"""VADER sentiment, in batches, on all cores; labels and the words that drove a score."""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

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


def _score_chunk_compact(texts: Sequence[str]) -> list[tuple[float, float, float, float]]:
    # What a worker sends back: four floats pickle far cheaper than a dataclass each.
    analyzer = _analyzer()
    out = []
    for text in texts:
        s = analyzer.polarity_scores(text or "")
        out.append((s["neg"], s["neu"], s["pos"], s["compound"]))
    return out


def _from_compact(values: tuple[float, float, float, float]) -> Score:
    neg, neu, pos, compound = values
    return Score(compound, pos, neu, neg, label_for(compound))


class ScoringPool:
    """Scores batches on `workers` processes that live for the whole scoring step.

    A pool per batch would start processes and load VADER's lexicon in each of
    them every time, which costs about what a second core saves. With one
    worker (or a small batch) texts are scored in this process.
    """

    def __init__(self, workers: int | None = None, min_parallel: int = PARALLEL_THRESHOLD) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.min_parallel = min_parallel
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "ScoringPool":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def score(self, texts: Sequence[str]) -> list[Score]:
        """Scores in input order."""
        return self.submit(texts)()

    def submit(self, texts: Sequence[str]) -> Callable[[], list[Score]]:
        """Start scoring; the returned callable waits for the scores. The caller works meanwhile (saves the last batch)."""
        if self.workers <= 1 or len(texts) < self.min_parallel:
            scores = _score_chunk(texts)
            return lambda: scores
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_analyzer)
        size = -(-len(texts) // (self.workers * 2))
        futures = [self._pool.submit(_score_chunk_compact, texts[i:i + size]) for i in range(0, len(texts), size)]
        return lambda: [_from_compact(values) for f in futures for values in f.result()]


def score_texts(texts: Sequence[str], workers: int | None = None, min_parallel: int = PARALLEL_THRESHOLD) -> list[Score]:
    """Scores in input order; spread over processes when the batch is large."""
    with ScoringPool(workers, min_parallel) as pool:
        return pool.score(texts)


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
