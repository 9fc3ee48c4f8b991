"""VADER sentiment, in batches, on all cores; labels and the words that drove a score."""
from __future__ import annotations

import os
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
