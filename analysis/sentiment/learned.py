"""The learned sentiment model: a linear model over a text's words, word pairs, stems, lexicon valence, complaint terms.

Learned from labelled tweets and star-rated reviews (`python -m
benchmarks.learn_sentiment`), shipped as one file beside this module, read
once per process. Linear, so a post's score is the sum of what each of its
words adds: the explanation of a label is exact, not a guess.

Two heads, one vocabulary. English text clearly written in English (two or
more of its function words) is read by the head learned from English alone,
so adding languages never costs English anything; every other text in the
eight languages (language.LEARNED_LANGUAGES), and an English text too short
to be sure of, is read by the head learned from all of them, which also reads each word's
letter sequences (CHAR_HEADS; text_features.char_values).

The prior. The model is learned with its classes balanced, then told what
mix of text it reads: posts addressed to a brand are mostly complaints and
questions, so by default it expects half of them to be negative, three in
ten neutral (questions, information) and two in ten positive
(`BRAND_PRIOR`). That moves a post on the fence ("please help, my parcel
is...") to the side such posts usually fall on; a clear post is not moved.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from analysis.sentiment import language
from analysis.sentiment.text_features import (CHARS, char_owners, char_words, feature_owners, feature_values,
                                              tokens, vector, word_chars)

CLASSES = ("negative", "neutral", "positive")
# The heads of a model file, in column order: learned from English only, and from every language.
ENGLISH_HEAD, ALL_LANGUAGES_HEAD = "en", "all"
# Complaints, questions and information, praise: the mix of what people address to a brand.
BRAND_PRIOR = (0.5, 0.3, 0.2)
MODEL_FILE = "sentiment-linear.npz"
# Words whose letter sequences' indices a model keeps at hand, per process (a night's words fit many times over).
CACHED_WORDS = 200_000
# The heads that also read a word's letter sequences (text_features.char_values): the English head has words
# enough, and learned without them it reads English exactly as before.
CHAR_HEADS = frozenset({ALL_LANGUAGES_HEAD})


class ModelFileError(RuntimeError):
    """The model file is missing or not one this code can read."""


@dataclass(frozen=True)
class LinearSentimentModel:
    vocabulary: dict[str, int]
    weights: np.ndarray  # (features, classes * heads): each head's CLASSES columns, heads in `heads` order
    bias: np.ndarray  # (classes * heads,)
    log_prior: np.ndarray  # (classes,) added to the logits: the mix of text the model is told to expect
    version: str
    heads: tuple[str, ...] = (ALL_LANGUAGES_HEAD,)
    _char_indices: dict[str, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def head_for(self, words: Sequence[str], language_code: str) -> int:
        """The head that reads a text: English's for clearly English text, else the all-languages head."""
        if ENGLISH_HEAD in self.heads and language_code == language.ENGLISH and language.clearly_english(words):
            return self.heads.index(ENGLISH_HEAD)
        return self.heads.index(ALL_LANGUAGES_HEAD) if ALL_LANGUAGES_HEAD in self.heads else 0

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, classes) probabilities, in CLASSES order, each text read by its head."""
        tokenized = [tokens(t) for t in texts]
        heads = [self.head_for(words, language.text_language(t, words)) for t, words in zip(texts, tokenized)]
        return self.probabilities_of_tokens(tokenized, heads)

    def probabilities_of_tokens(self, tokenized: Sequence[list[str]], heads: Sequence[int] | None = None) -> np.ndarray:
        """The same, from texts already split by `text_features.tokens`, each read by its head (default: the first).

        A text's words and its letter sequences are two blocks, each scaled to unit length on its own.
        """
        head = np.zeros(len(tokenized), dtype=np.int64) if heads is None else np.asarray(heads, dtype=np.int64)
        with_chars = [self.heads[h] in CHAR_HEADS for h in range(len(self.heads))]
        indptr, indices, values = [0], [], []
        for normal, h in zip(tokenized, head.tolist()):
            index, value = vector(feature_values(normal), self.vocabulary)
            indices.extend(index)
            values.extend(value)
            if with_chars[h]:
                index, value = self.char_vector(normal)
                indices.extend(index)
                values.extend(value)
            indptr.append(len(indices))
        x = sp.csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
                          shape=(len(tokenized), len(self.vocabulary)))
        every = x @ self.weights + self.bias  # (texts, classes * heads)
        n = len(CLASSES)
        columns = head[:, None] * n + np.arange(n)[None, :]
        logits = np.take_along_axis(np.asarray(every), columns, axis=1) + self.log_prior
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def char_vector(self, normal: list[str]) -> tuple[list[int], list[float]]:
        """`vector(char_values(normal), vocabulary)`, from each word's known letter sequences kept at hand: the
        hot path of scoring text in other languages."""
        cache = self._char_indices
        if len(cache) > CACHED_WORDS:
            cache.clear()
        found: list[int] = []
        get = self.vocabulary.get
        for w in char_words(normal):
            known = cache.get(w)
            if known is None:
                known = cache[w] = [j for j in map(get, word_chars(w)) if j is not None]
            found += known
        counts = Counter(found)
        norm = math.hypot(*counts.values()) or 1.0
        return list(counts), [c / norm for c in counts.values()]

    def contributions(self, text: str) -> list[tuple[str, float]]:
        """What each word adds to the log-odds of positive against negative, largest first either way.

        A feature of two words (a word pair) is shared between them; the
        lexicon feature goes to the word that carries the valence.
        """
        occurrences, shown = feature_owners(text)
        head = self.head_for(shown, language.text_language(text, shown))
        if self.heads[head] in CHAR_HEADS:
            occurrences += char_owners(shown)
        totals: dict[str, float] = {}
        for name, value, _ in occurrences:
            totals[name] = totals.get(name, 0.0) + value
        # The same unit-length scaling as scoring: one factor for each block (words, letter sequences) of the text.
        norms = {block: sum(v * v for n, v in totals.items() if n in self.vocabulary and n.startswith(CHARS) == block)
                 ** 0.5 or 1.0 for block in (False, True)}
        per_word: dict[int, float] = {}
        for name, value, owners in occurrences:
            j = self.vocabulary.get(name)
            if j is None:
                continue
            w = self.weights[j, head * len(CLASSES):(head + 1) * len(CLASSES)]
            push = float(w[2] - w[0]) * value / norms[name.startswith(CHARS)] / len(owners)
            for i in owners:
                per_word[i] = per_word.get(i, 0.0) + push
        merged: dict[str, float] = {}
        for i, push in per_word.items():
            word = shown[i]
            if word in ("<url>", "@user") or not any(c.isalpha() for c in word):  # a why-word is a word
                continue
            merged[word] = merged.get(word, 0.0) + push
        return sorted(((w, round(v, 2)) for w, v in merged.items()), key=lambda kv: -abs(kv[1]))


def save(path: Path, vocabulary: Sequence[str], weights: np.ndarray, bias: np.ndarray, version: str,
         prior: Sequence[float] = BRAND_PRIOR, heads: Sequence[str] = (ALL_LANGUAGES_HEAD,)) -> None:
    """Write a model file: names joined by newlines (as UTF-8 bytes), weights in half precision, compressed."""
    names = "\n".join(vocabulary).encode("utf-8")
    np.savez_compressed(
        path, names=np.frombuffer(names, dtype=np.uint8), weights=weights.astype(np.float16),
        bias=np.asarray(bias, dtype=np.float32), prior=np.asarray(prior, dtype=np.float32),
        version=np.frombuffer(version.encode("utf-8"), dtype=np.uint8),
        heads=np.frombuffer("\n".join(heads).encode("utf-8"), dtype=np.uint8),
    )


def load(path: Path | None = None) -> LinearSentimentModel:
    """The model shipped with the package, or the file at `path`."""
    source = path if path is not None else resources.files("analysis.sentiment") / "models" / MODEL_FILE
    try:
        with source.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            names = bytes(data["names"]).decode("utf-8").split("\n")
            weights = data["weights"].astype(np.float32)
            bias, prior = data["bias"].astype(np.float32), data["prior"].astype(np.float64)
            version = bytes(data["version"]).decode("utf-8")
            heads = tuple(bytes(data["heads"]).decode("utf-8").split("\n")) if "heads" in data else (ALL_LANGUAGES_HEAD,)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelFileError(f"cannot read the sentiment model {source}: {exc}") from exc
    width = len(CLASSES) * len(heads)
    if weights.shape != (len(names), width) or bias.shape != (width,):
        raise ModelFileError(f"{source}: {len(names)} features and {len(heads)} heads but weights of shape "
                             f"{weights.shape}")
    return LinearSentimentModel(
        vocabulary={name: i for i, name in enumerate(names)}, weights=weights, bias=bias,
        log_prior=np.log(prior / prior.sum()).astype(np.float32), version=version, heads=heads,
    )


@lru_cache(maxsize=1)
def shipped_model() -> LinearSentimentModel:
    return load()
