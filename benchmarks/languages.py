"""Language identification on a labelled file: how often each language is named right, and texts/s.

    python -m benchmarks.languages FILE.csv [FILE.csv ...]

FILE.csv has the columns `language,text` (other columns are ignored; rows of
a `train` split are left out). For each language of the file it prints how
many texts there are, the share named right, the share called English (which
the learned model still scores, by its English head when the text is clearly
English) and the share left unscored (a language the learned model does not
read); then the share named right over the file and texts per second. This
is `analysis.sentiment.language.text_language`, as scoring calls it when a
source gives no language of its own.
"""
from __future__ import annotations

import argparse
import collections
import csv
import sys
import time
from pathlib import Path

from analysis.sentiment import language


def read_file(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"language", "text"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns language,text (has {reader.fieldnames})")
        return [(row["language"], row["text"]) for row in reader if row.get("split") != "train"]


def report(path: Path) -> None:
    rows = read_file(path)
    if not rows:
        raise ValueError(f"{path}: no rows to judge")
    language.text_language("warm the identifier up")  # loading py3langid's model is not identification
    started = time.perf_counter()
    named = [language.text_language(text) for _, text in rows]
    rate = len(rows) / max(time.perf_counter() - started, 1e-9)
    by_language: dict[str, list[str]] = collections.defaultdict(list)
    for (truth, _), found in zip(rows, named):
        by_language[truth].append(found)
    print(f"{path}: {len(rows):,} texts")
    print(f"  {'language':<9} {'texts':>6} {'named right':>12} {'called en':>10} {'unscored':>9}")
    for code in sorted(by_language):
        found = by_language[code]
        share = lambda hit: sum(1 for f in found if hit(f)) / len(found)  # noqa: E731
        print(f"  {code:<9} {len(found):>6} {share(lambda f: f == code):>12.3f} "
              f"{share(lambda f: f == language.ENGLISH):>10.3f} "
              f"{share(lambda f: f not in language.LEARNED_LANGUAGES):>9.3f}")
    right = sum(1 for (truth, _), found in zip(rows, named) if truth == found) / len(rows)
    print(f"named right: {right:.3f} of the file, {rate:,.0f} texts/s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.languages", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", type=Path)
    args = p.parse_args(argv)
    for path in args.files:
        try:
            report(path)
        except (OSError, ValueError, KeyError) as exc:
            print(f"benchmarks.languages: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
