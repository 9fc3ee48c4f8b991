"""Learn the sentiment model again from ../shared/data/sentiment, and print its figures on what it did not learn from.

    python -m benchmarks.learn_sentiment [DIR] [--out analysis/sentiment/models/sentiment-linear.npz] [--C 1.0]

DIR holds tweeteval-sentiment.csv (labelled tweets) and trustpilot-reviews.csv
(reviews with their writer's stars). One text in five of each file (chosen
by a hash of the review id or the tweet's text, so the split never changes)
is held out; the model is learned from the rest and judged, beside VADER, on
the held-out parts. Needs scikit-learn (`pip install -e '.[train]'`).

What it learns from, and why:
- tweets with their three labels;
- English reviews (the title in front where it is not the text's own
  beginning, as the store scores them): 1-2 stars negative, 4-5 positive, 3
  stars neutral (the writer's own "mixed": neither a complaint nor praise);
- each file weighs the same, and within a file each class weighs the same:
  five-star reviews are three quarters of the reviews and would otherwise
  teach that everything is praise. The mix the model then expects is set at
  scoring time by its prior (learned.BRAND_PRIOR).
"""
from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from analysis.sentiment import learned, vader
from analysis.sentiment.text_features import feature_values, tokens, vector
from benchmarks.sentiment import figures

CLASSES = learned.CLASSES
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "analysis" / "sentiment" / "models" / learned.MODEL_FILE
# A feature seen in fewer training texts than this is noise the model would memorise.
MIN_TEXTS = 2
# Weights this small change no probability by more than a rounding error; dropping them keeps the file small.
PRUNE_BELOW = 0.01


@dataclass(frozen=True)
class Example:
    corpus: str
    label: str
    text: str
    held_out: bool


def held_out(key: str) -> bool:
    return zlib.crc32(key.encode("utf-8")) % 5 == 0


def review_text(title: str, text: str) -> str:
    """Title and text as the store scores them: the title in front unless the text begins with it."""
    title, text = (title or "").strip(), (text or "").strip()
    if not title or title.rstrip("…").strip() in text:
        return text
    return f"{title}. {text}"


def stars_label(stars: int) -> str:
    return "negative" if stars <= 2 else "positive" if stars >= 4 else "neutral"


def read_examples(folder: Path) -> list[Example]:
    out = []
    with (folder / "tweeteval-sentiment.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            out.append(Example("tweets", row["label"], row["text"], held_out(row["text"])))
    with (folder / "trustpilot-reviews.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["language"] != "en":
                continue  # the model reads English; other languages are marked, not scored
            out.append(Example("reviews", stars_label(int(row["rating"])), review_text(row["title"], row["text"]),
                               held_out(row["id"])))
    return out


def class_weights(examples: list[Example]) -> np.ndarray:
    """Each corpus weighs the same, and each class within it."""
    counts = collections.Counter((e.corpus, e.label) for e in examples)
    per_corpus = collections.Counter(e.corpus for e in examples)
    labels_in = {c: sum(1 for (corpus, _) in counts if corpus == c) for c in per_corpus}
    w = np.array([1.0 / (labels_in[e.corpus] * counts[(e.corpus, e.label)]) for e in examples])
    return w * len(w) / w.sum()


def design(values: list[dict[str, float]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    indptr, indices, data = [0], [], []
    for v in values:
        index, value = vector(v, vocabulary)
        indices.extend(index)
        data.extend(value)
        indptr.append(len(indices))
    return sp.csr_matrix((data, indices, indptr), shape=(len(values), len(vocabulary)))


def learn(train: list[Example], c: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(feature names, weights, bias) of a multinomial logistic regression, pruned of negligible weights."""
    from sklearn.linear_model import LogisticRegression

    values = [feature_values(tokens(e.text)) for e in train]
    seen = collections.Counter(name for v in values for name in v)
    names = sorted(name for name, n in seen.items() if n >= MIN_TEXTS)
    vocabulary = {name: i for i, name in enumerate(names)}
    fit = LogisticRegression(C=c, max_iter=3000)
    fit.fit(design(values, vocabulary), np.array([CLASSES.index(e.label) for e in train]),
            sample_weight=class_weights(train))
    weights = fit.coef_.T  # (features, classes), classes in CLASSES order (0, 1, 2)
    keep = np.abs(weights).max(axis=1) >= PRUNE_BELOW
    return [n for n, k in zip(names, keep) if k], weights[keep], fit.intercept_


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.learn_sentiment", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the model file")
    p.add_argument("--C", dest="c", type=float, default=1.0, help="inverse regularisation strength")
    args = p.parse_args(argv)
    try:
        examples = read_examples(args.folder)
    except (OSError, KeyError, ValueError) as exc:
        print(f"benchmarks.learn_sentiment: cannot read {args.folder}: {exc}", file=sys.stderr)
        return 2
    train = [e for e in examples if not e.held_out]
    started = time.perf_counter()
    names, weights, bias = learn(train, args.c)
    digest = hashlib.sha256(weights.astype(np.float16).tobytes() + "\n".join(names).encode()).hexdigest()[:8]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    learned.save(args.out, names, weights, bias, version=f"linear-{digest}")
    model = learned.load(args.out)
    print(f"learned from {len(train):,} texts in {time.perf_counter() - started:.0f} s: {len(names):,} features, "
          f"version {model.version}, {args.out.stat().st_size / 1e6:.1f} MB at {args.out}")
    print(f"prior (negative, neutral, positive): {learned.BRAND_PRIOR}")
    for corpus in ("tweets", "reviews"):
        test = [e for e in examples if e.held_out and e.corpus == corpus]
        truth = [e.label for e in test]
        learned_labels = [CLASSES[i] for i in model.probabilities([e.text for e in test]).argmax(axis=1)]
        vader_labels = [vader.label_for(vader.polarity(e.text)[3]) for e in test]
        print(f"held-out {corpus} ({len(test):,}, not learned from):")
        print(f"  learned {figures(truth, learned_labels).line()}")
        print(f"  vader   {figures(truth, vader_labels).line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
