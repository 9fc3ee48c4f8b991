"""The features the learned sentiment model reads from a text, each tied to the word it came from.

One function serves training and scoring, so the two can never drift apart:
words (lower-cased, links, handles and numbers folded to one token each,
"soooo" to "soo"), word pairs, a long word's first five letters (so
"crashed", "crashes" and "crashing" share what was learned of any of them),
and VADER's lexicon valence of each word, flipped after a negation, as one
summed feature per sign: the lexicon knows thousands of words the labelled
data never shows. Every feature belongs to one or two words, which is what
lets the model say which words pushed a post negative.

Text the all-languages head reads also has its words' letter sequences (two
to five letters, word edges marked): Arabic, German, Italian... inflect a
word many ways and the labelled tweets show few of them, and a misspelt or
run-together word still shares most of its letters with the right one. They
are a block of their own, scaled to unit length apart from the words, so
English text read by the English head is read exactly as before.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from analysis.sentiment.complaint_terms import COMPLAINT_PHRASES, COMPLAINT_WORDS

_TOKEN = re.compile(
    r"https?://\S+|www\.\S+"            # links
    r"|@\w+"                            # handles
    r"|\w+(?:['’]\w+)*"                 # words, with their apostrophes
    r"|!"                               # the punctuation that carries tone; not "?": in a brand's inbox
                                        # a question is as often a request for information as a complaint
    r"|[:;=8][-o*']?[)(\]\[dDpP/\\|]"   # emoticons
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF]"  # emoji
)
_REPEAT = re.compile(r"(.)\1{2,}")
_DIGITS = re.compile(r"\d+")
NEGATIONS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot", "cant", "can't",
    "dont", "don't", "doesnt", "doesn't", "didnt", "didn't", "isnt", "isn't", "wasnt", "wasn't", "wont", "won't",
    "wouldnt", "wouldn't", "havent", "haven't", "hasnt", "hasn't", "hadnt", "hadn't", "couldnt", "couldn't",
    "shouldnt", "shouldn't", "arent", "aren't", "werent", "weren't", "aint", "ain't", "without",
})
# A long word's first letters stand for its family: "crashed", "crashes" and "crashing" share "crash".
STEM = 5
# VADER's own negation scalar: a negated lexicon word counts this much the other way.
NEGATION_SCALAR = -0.74
LEXICON_POSITIVE = "lex:+"
LEXICON_NEGATIVE = "lex:-"
# VADER's valences run to about 4; scaled so a strong word weighs about as much as one present feature.
LEXICON_SCALE = 0.25
# The letter sequences of a word (with a space at each edge) read by the all-languages head: two to five letters.
CHARS_FROM, CHARS_TO = 2, 5
CHARS = "c:"
# A token longer than this is a blob (a hash, base64, a pasted log line), not a word: its letter sequences would
# teach nothing and cost memory (a 1 MB token is four million of them). German's longest everyday compounds fit.
CHARS_WORD_MAX = 40


COMPLAINT = "svc:-"
COMPLAINT_TERMS = COMPLAINT_WORDS | {" ".join(p) for p in COMPLAINT_PHRASES}
# Each phrase under its first word, longest first: one look-up a token finds the phrases that may start there.
_PHRASES_FROM: dict[str, tuple[tuple[str, ...], ...]] = {}
for _phrase in sorted(COMPLAINT_PHRASES, key=len, reverse=True):
    _PHRASES_FROM[_phrase[0]] = _PHRASES_FROM.get(_phrase[0], ()) + (_phrase,)


@lru_cache(maxsize=1)
def vader_lexicon() -> dict[str, float]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer().lexicon


def tokens(text: str) -> list[str]:
    """The text's tokens: lower-cased, "soooo" as "soo", numbers as 0, every link "<url>", every handle "@user",
    and a complaint phrase ("on hold") as one token."""
    normal = _DIGITS.sub("0", _REPEAT.sub(r"\1\1", (text or "").lower().replace("’", "'")))
    out = _TOKEN.findall(normal)
    merge = False
    for i, w in enumerate(out):
        if w[0] == "@":
            out[i] = "@user"
        elif w.startswith(("http", "www.")) and (w.startswith("www.") or "://" in w):
            out[i] = "<url>"
        elif w in _PHRASES_FROM:
            merge = True
    return _merge_phrases(out) if merge else out


def _merge_phrases(words: list[str]) -> list[str]:
    out, i = [], 0
    while i < len(words):
        for phrase in _PHRASES_FROM.get(words[i], ()):
            if tuple(words[i:i + len(phrase)]) == phrase:
                out.append(" ".join(phrase))
                i += len(phrase)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _features(normal: list[str], lexicon: dict[str, float]) -> Iterator[tuple[str, float, tuple[int, ...]]]:
    """(name, value, positions of the words it came from) for every feature of the tokens, in order."""
    for i, w in enumerate(normal):
        yield "w:" + w, 1.0, (i,)
        if i:
            yield "b:" + normal[i - 1] + " " + w, 1.0, (i - 1, i)
        if len(w) > STEM and w.isalpha():
            yield "p:" + w[:STEM], 1.0, (i,)
        valence = lexicon.get(w)
        if valence is not None:
            if any(v in NEGATIONS for v in normal[max(0, i - 3):i]):
                valence *= NEGATION_SCALAR
            yield (LEXICON_POSITIVE if valence > 0 else LEXICON_NEGATIVE), abs(valence) * LEXICON_SCALE, (i,)
        if w in COMPLAINT_TERMS:
            yield COMPLAINT, 1.0, (i,)


def feature_values(normal: list[str]) -> dict[str, float]:
    """Each feature of the tokens (of `tokens(text)`) with its summed value: what the model learns from and scores.

    The same features as `_features`, written out flat: this is the hot path of
    the nightly scoring, and a generator of tuples costs a third of its time.
    """
    lexicon = vader_lexicon()
    out: dict[str, float] = {}
    get = out.get
    previous = None
    for i, w in enumerate(normal):
        key = "w:" + w
        out[key] = get(key, 0.0) + 1.0
        if previous is not None:
            key = "b:" + previous + " " + w
            out[key] = get(key, 0.0) + 1.0
        previous = w
        if len(w) > STEM and w.isalpha():
            key = "p:" + w[:STEM]
            out[key] = get(key, 0.0) + 1.0
        valence = lexicon.get(w)
        if valence is not None:
            if i and any(v in NEGATIONS for v in normal[max(0, i - 3):i]):
                valence *= NEGATION_SCALAR
            key = LEXICON_POSITIVE if valence > 0 else LEXICON_NEGATIVE
            out[key] = get(key, 0.0) + abs(valence) * LEXICON_SCALE
        if w in COMPLAINT_TERMS:
            out[COMPLAINT] = get(COMPLAINT, 0.0) + 1.0
    return out


_NO_LETTERS = frozenset({"<url>", "@user"})


def word_chars(word: str) -> list[str]:
    """A word's letter sequences as feature names, in order, repeats included."""
    padded = " " + word + " "
    length = len(padded)
    return [CHARS + padded[i:i + n] for n in range(CHARS_FROM, min(CHARS_TO, length) + 1)
            for i in range(length - n + 1)]


def char_words(normal: list[str]) -> list[str]:
    """The tokens that have letter sequences: not links, handles, numbers or blobs (CHARS_WORD_MAX)."""
    return [w for w in normal if w not in _NO_LETTERS and not w.isdigit() and len(w) <= CHARS_WORD_MAX]


def char_values(normal: list[str]) -> dict[str, float]:
    """The letter sequences of the tokens' words (`CHARS_FROM` to `CHARS_TO` letters, a space marking each edge),
    each with its count; links, handles and numbers have none."""
    out: dict[str, float] = {}
    get = out.get
    for w in char_words(normal):
        for key in word_chars(w):
            out[key] = get(key, 0.0) + 1.0
    return out


def char_owners(normal: list[str]) -> list[tuple[str, float, tuple[int, ...]]]:
    """Every letter-sequence occurrence with the position of its word: `char_values`, for explanations."""
    out = []
    for i, w in enumerate(normal):
        for name, count in char_values([w]).items():
            out.append((name, count, (i,)))
    return out


def feature_owners(text: str) -> tuple[list[tuple[str, float, tuple[int, ...]]], list[str]]:
    """Every feature occurrence with the positions of the tokens it came from, and the tokens: for explanations."""
    normal = tokens(text)
    return list(_features(normal, vader_lexicon())), normal


def vector(values: dict[str, float], vocabulary: dict[str, int]) -> tuple[list[int], list[float]]:
    """The known features' indices and values, scaled to unit length (long reviews and short posts weigh alike)."""
    index, value = [], []
    get = vocabulary.get
    for name, v in values.items():
        j = get(name)
        if j is not None:
            index.append(j)
            value.append(v)
    norm = sum(v * v for v in value) ** 0.5 or 1.0
    return index, [v / norm for v in value]
