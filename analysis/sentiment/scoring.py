"""Sentiment of mentions: the model that reads them, in batches on all cores; labels; the words behind a label.

Two models: `learned` (the default; analysis.sentiment.learned, made for text
addressed to a brand, reading eight languages: language.LEARNED_LANGUAGES)
and `vader` (the classic lexicon, English only). A text in a language its
model does not read is not scored (label None) and says which language it
is in, so the digest can count what was left unread instead of calling it
neutral. Every score names its model and version, so a series
never mixes two models without knowing it.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from analysis import themes
from analysis.sentiment import language, learned, text_features, vader

MODELS = ("learned", "vader")
DEFAULT_MODEL = "learned"
# Below this many texts a process pool costs more than it saves.
PARALLEL_THRESHOLD = 4000

# A why-word says something on its own: a function word of any language the model reads ("the", "le", "de")
# is not shown, however much its letters weighed; a negation ("not", "pas", "nicht", "nahi") is.
NEGATION_WORDS = text_features.NEGATIONS | frozenset(
    "pas jamais rien aucun aucune nicht kein keine keinen nie niemals non mai nessuno niente não nao nunca nada "
    "ninguém ninguem ni nadie ningún ninguna nahi nahin nai mat لا لم لن ليس".split())
SAYS_NOTHING = (themes.STOP_WORDS | themes.OTHER_STOP_WORDS) - NEGATION_WORDS
_ELIDED_NOTHING = SAYS_NOTHING | {""}  # what may follow an elision ("n'" + "est", "dell'" + "")

# For callers that used VADER's cut-offs directly.
label_for = vader.label_for


@dataclass(frozen=True)
class Score:
    compound: float | None  # -1 (negative) to +1 (positive); None when not scored
    pos: float | None
    neu: float | None
    neg: float | None
    label: str | None  # negative, neutral, positive; None when the text is in a language the model does not read
    model: str  # "<model>:<version>", e.g. "learned:linear-3f2a9c1e" or "vader:3.3.2"
    language: str  # "en", or the language the text was found to be in


def model_family(model: str) -> str:
    """'learned' of 'learned:linear-…' (a stored model id), checked against the known models."""
    family = (model or "").split(":", 1)[0]
    if family not in MODELS:
        raise ValueError(f"unknown sentiment model {model!r}; known: {', '.join(MODELS)}")
    return family


def model_id(model: str = DEFAULT_MODEL) -> str:
    """What a score records: the model and the version that produced it."""
    family = model_family(model)
    if family == "vader":
        return f"vader:{vader.version()}"
    return f"learned:{learned.shipped_model().version}"


# (neg, neu, pos, compound, label, language): what a worker sends back, cheap to pickle.
_Compact = tuple[float | None, float | None, float | None, float | None, str | None, str]


def _score_compact(texts: Sequence[str], languages: Sequence[str | None], model: str) -> list[_Compact]:
    family = model_family(model)
    is_learned = family == "learned"
    # The learned model splits each text once: its tokens serve the language check too.
    tokenized = [text_features.tokens(t) for t in texts] if is_learned else [None] * len(texts)
    read_as = [language.readable_language(lang, text, words) for text, lang, words in zip(texts, languages, tokenized)]
    readable = [i for i, lang in enumerate(read_as) if language.reads(family, lang)]
    out: list[_Compact] = [(None, None, None, None, None, lang) for lang in read_as]
    if not is_learned:
        for i in readable:
            neg, neu, pos, compound = vader.polarity(texts[i])
            out[i] = (neg, neu, pos, compound, vader.label_for(compound), read_as[i])
        return out
    model = learned.shipped_model()
    probabilities = model.probabilities_of_tokens([tokenized[i] for i in readable],
                                                  [model.head_for(tokenized[i], read_as[i]) for i in readable])
    for i, (neg, neu, pos) in zip(readable, probabilities.tolist()):
        label = learned.CLASSES[max(range(3), key=(neg, neu, pos).__getitem__)]
        out[i] = (round(neg, 4), round(neu, 4), round(pos, 4), round(pos - neg, 4), label, read_as[i])
    return out


def _from_compact(values: _Compact, model: str) -> Score:
    neg, neu, pos, compound, label, lang = values
    return Score(compound, pos, neu, neg, label, model, lang)


def _warm(model: str) -> None:
    """A worker loads its model once, when it starts."""
    model_id(model)
    if model_family(model) == "vader":
        vader.analyzer()


class ScoringPool:
    """Scores batches on `workers` processes that live for the whole scoring step.

    A pool per batch would start processes and load the model in each of
    them every time, which costs about what a second core saves. With one
    worker (or a small batch) texts are scored in this process.
    """

    def __init__(self, workers: int | None = None, min_parallel: int = PARALLEL_THRESHOLD,
                 model: str = DEFAULT_MODEL) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.min_parallel = min_parallel
        self.model = model_family(model)
        self.model_id = model_id(model)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> "ScoringPool":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def score(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> list[Score]:
        """Scores in input order."""
        return self.submit(texts, languages)()

    def submit(self, texts: Sequence[str], languages: Sequence[str | None] | None = None) -> Callable[[], list[Score]]:
        """Start scoring; the returned callable waits for the scores. The caller works meanwhile (saves the last batch).

        `languages` are what the sources say each text is written in (None where they do not say).
        """
        texts = [t or "" for t in texts]
        langs = list(languages) if languages is not None else [None] * len(texts)
        if self.workers <= 1 or len(texts) < self.min_parallel:
            scores = [_from_compact(v, self.model_id) for v in _score_compact(texts, langs, self.model)]
            return lambda: scores
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_warm, initargs=(self.model,))
        size = -(-len(texts) // (self.workers * 2))
        futures = [self._pool.submit(_score_compact, texts[i:i + size], langs[i:i + size], self.model)
                   for i in range(0, len(texts), size)]
        return lambda: [_from_compact(values, self.model_id) for f in futures for values in f.result()]


def score_texts(texts: Sequence[str], workers: int | None = None, min_parallel: int = PARALLEL_THRESHOLD,
                model: str = DEFAULT_MODEL) -> list[Score]:
    """Scores in input order; spread over processes when the batch is large."""
    with ScoringPool(workers, min_parallel, model) as pool:
        return pool.score(texts)


def title_adds(title: str | None, text: str | None) -> bool:
    """Whether a title says something its text does not already hold (a Reddit body often repeats its title):
    the one rule for where a title is scored and shown."""
    return bool(title) and title not in (text or "")


def scored_text(mention: Mapping[str, Any]) -> str:
    """A mention's title and text as they are scored: the title in front where it adds to the text (the store's
    fetch_unscored writes the same rule in SQL; explanations and themes read the text the score read)."""
    title, text = mention.get("title") or "", mention.get("text") or ""
    if title_adds(title, text):
        return f"{title}. {text}" if text else title
    return text


def score_fields(score: Score, rating: float | None) -> dict[str, Any]:
    """A score as the store saves it (store.save_scores, beside the mention's key): the stars decide the label
    where there are stars."""
    return {"compound": score.compound, "pos": score.pos, "neu": score.neu, "neg": score.neg, "label": score.label,
            "rated_label": rating_label(rating, score.label), "model": score.model, "language": score.language}


def score_text(text: str, model: str = DEFAULT_MODEL) -> Score:
    return score_texts([text], workers=1, model=model)[0]


def driver_words(text: str, top: int = 3, model: str = DEFAULT_MODEL) -> list[tuple[str, float]]:
    """The words that moved the score most, each with its signed push (below zero: towards negative).

    `model` may be a stored score's model id: a post is explained by the model
    family that scored it. For the learned model the pushes are the model's
    own per-word contributions to the log-odds of positive against negative
    (function words left out: SAYS_NOTHING); for VADER, the lexicon valences.
    """
    if model_family(model) == "vader":
        return vader.driver_words(text)[:top]
    said = learned.shipped_model().contributions(text)  # by the head that read the text
    return [(word, push) for word, push in said if not says_nothing(word)][:top]


def says_nothing(word: str) -> bool:
    """A function word, also elided ("n'est", "c'est", "dell'"), and not a negation."""
    return word in SAYS_NOTHING or ("'" in word and word not in NEGATION_WORDS
                                    and word.split("'", 1)[1] in _ELIDED_NOTHING)


def rating_label(rating: float | None, text_label: str | None) -> str | None:
    """The customer's own verdict where there are stars (4-5 positive, 1-2 negative); the text's otherwise."""
    if rating is None:
        return text_label
    if rating >= 4:
        return "positive"
    if rating <= 2:
        return "negative"
    return text_label
