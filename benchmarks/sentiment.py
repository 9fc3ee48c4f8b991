"""Sentiment quality and speed: the learned model and VADER side by side on a labelled file.

    python -m benchmarks.sentiment FILE.csv

FILE.csv has the columns `label,text` (labels negative, neutral, positive),
and optionally `language` (and `split`: rows whose split is `train` are
left out, never judged on what a model learned from). Prints for each
model: accuracy, macro-F1, negative recall and precision, how many texts it
left unscored (another language: counted as wrong), and texts per second;
with a `language` column, a table of the same per language for the learned
model, with the share it scored, and the mean macro-F1 over the languages
other than English. The last line is the learned model's:
`learned: accuracy A macro-F1 F negative recall R negative precision P`.
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from analysis import sentiment

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True)
class Figures:
    accuracy: float
    macro_f1: float
    negative_recall: float
    negative_precision: float
    unscored: int

    def line(self) -> str:
        return (f"accuracy {self.accuracy:.3f} macro-F1 {self.macro_f1:.3f} "
                f"negative recall {self.negative_recall:.3f} negative precision {self.negative_precision:.3f}")


def figures(truth: Sequence[str], predicted: Sequence[str | None]) -> Figures:
    """Accuracy, macro-F1 over the three labels, negative recall and precision. An unscored text counts as wrong."""
    if not truth:
        raise ValueError("no labelled texts")
    f1s, recall, precision = [], 0.0, 0.0
    for label in LABELS:
        tp = sum(1 for t, p in zip(truth, predicted) if t == label and p == label)
        said = sum(1 for p in predicted if p == label)
        real = sum(1 for t in truth if t == label)
        p_, r_ = (tp / said if said else 0.0), (tp / real if real else 0.0)
        f1s.append(2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0)
        if label == "negative":
            recall, precision = r_, p_
    accuracy = sum(1 for t, p in zip(truth, predicted) if t == p) / len(truth)
    return Figures(accuracy, sum(f1s) / len(f1s), recall, precision, sum(1 for p in predicted if p is None))


def read_labelled(path: Path, languages: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(labels, texts) of a `label,text` CSV; a bad row is a clear error naming the file and line.

    `languages`, when given, receives each row's `language` ("" where the file has none). Rows of the
    `train` split are skipped."""
    labels, texts = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"label", "text"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns label,text (found {reader.fieldnames})")
        for row in reader:
            if (row.get("split") or "").strip() == "train":
                continue
            label = (row["label"] or "").strip().lower()
            if label not in LABELS:
                raise ValueError(f"{path}:{reader.line_num}: label {row['label']!r} is not one of {', '.join(LABELS)}")
            labels.append(label)
            texts.append(row["text"] or "")
            if languages is not None:
                languages.append((row.get("language") or "").strip())
    return labels, texts


def measure(model: str, texts: Sequence[str]) -> tuple[list[str | None], float]:
    """Labels in one process, as the nightly scoring step's single worker does; and texts per second."""
    started = time.perf_counter()
    scores = sentiment.score_texts(texts, workers=1, model=model)
    return [s.label for s in scores], len(texts) / max(time.perf_counter() - started, 1e-9)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.sentiment", description=__doc__.split("\n\n")[0])
    p.add_argument("file", type=Path, help="CSV with columns label,text")
    args = p.parse_args(argv)
    languages: list[str] = []
    try:
        truth, texts = read_labelled(args.file, languages)
        sentiment.model_id("learned")  # load the model before the clock starts
        sentiment.model_id("vader")
        results = {model: measure(model, texts) for model in ("vader", "learned")}
        found = {model: figures(truth, labels) for model, (labels, _) in results.items()}
    except (OSError, ValueError) as exc:
        print(f"benchmarks.sentiment: {exc}", file=sys.stderr)
        return 2
    counts = {label: truth.count(label) for label in LABELS}
    print(f"{args.file}: {len(texts)} texts ({', '.join(f'{n} {k}' for k, n in counts.items())})")
    for model in ("vader", "learned"):
        f, speed = found[model], results[model][1]
        print(f"  {model:8s} {f.line()}  unscored {f.unscored}  {speed:,.0f} texts/s")
    print(f"  speed ratio, learned / VADER: {results['learned'][1] / results['vader'][1]:.2f}")
    if any(languages):
        print_by_language(truth, results["learned"][0], languages)
    print(f"learned: {found['learned'].line()}")
    return 0


def print_by_language(truth: Sequence[str], labels: Sequence[str | None], languages: Sequence[str]) -> None:
    """The learned model's figures per language of the file, and the mean macro-F1 over the non-English ones."""
    print(f"  {'language':10s} {'texts':>6s} {'scored':>7s} {'macro-F1':>9s} {'accuracy':>9s} {'neg recall':>11s} "
          f"{'neg precision':>14s}")
    others = []
    for code in sorted(set(languages)):
        rows = [i for i, lang in enumerate(languages) if lang == code]
        f = figures([truth[i] for i in rows], [labels[i] for i in rows])
        scored = 1 - f.unscored / len(rows)
        print(f"  {code or '?':10s} {len(rows):6d} {scored:7.0%} {f.macro_f1:9.3f} {f.accuracy:9.3f} "
              f"{f.negative_recall:11.3f} {f.negative_precision:14.3f}")
        if code and code != "en":
            others.append(f.macro_f1)
    if others:
        over = f"the {len(others)} languages" if len(others) > 1 else "the one language"
        print(f"  mean macro-F1 over {over} other than English: {sum(others) / len(others):.3f}")


if __name__ == "__main__":
    sys.exit(main())
