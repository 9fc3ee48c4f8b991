"""Pipeline speed, as ratios measured in one run (machines are noisy; ratios less so).

    python -m benchmarks.pipeline [--texts 20000] [--big 1000000] [--new 5000] [--repeat 3]

1. Score + store throughput against raw VADER on the same texts: the nightly
   scoring step (read unscored rows, score with the default model, the
   learned one, write back in bulk) with one worker, and with two, each as a
   ratio of VADER alone in one process (its analyzer and nothing else).
   Goals: >= 0.9 with one worker, >= 1.7 with two.
2. A nightly run's own work (store 5,000 new mentions, score them, detect,
   build the digest) on a database of 1,000,000 mentions against the same on
   an empty one. Goal: <= 1.2.
Medians over --repeat runs; every figure is printed.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from analysis import sentiment, store
from analysis.sentiment import vader
from flows.demo import data as demo_data
from flows.demo import review_data
from flows.config import parse_config
from flows.tasks.detection import detect_brand_alerts
from flows.tasks.digests import build_digest
from flows.tasks.scoring import score_unscored

UNTIL = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)
BRANDS = ("Parcelly", "ShipSwift")
SOURCES = ("hackernews", "feed", "trustpilot", "appstore", "googleplay", "schemaorg")
CONFIG = parse_config({
    "brands": [{"name": b, "terms": [b], "competitor": b != BRANDS[0],
                "sources": [{"source": "feed", "targets": ["https://example.com/f"]}]} for b in BRANDS],
    "digest": {"sender": "r@example.com", "groups": [{"name": "support", "recipients": ["s@example.com"]}]},
})


def make_texts(n: int, seed: int = 1) -> list[str]:
    """Mention-like texts of realistic length and mix, from the demo's sentences."""
    rng = random.Random(seed)
    pools = [demo_data.POSITIVE, demo_data.NEUTRAL, demo_data.NEGATIVE, demo_data.INCIDENT,
             [t for _, t in sum(review_data.REVIEW_TEXTS.values(), [])]]
    out = []
    for _ in range(n):
        parts = [rng.choice(rng.choice(pools)).format(b=rng.choice(BRANDS)) for _ in range(rng.randint(1, 3))]
        out.append(" ".join(parts))
    return out


def rows_for(texts: list[str], start: datetime, span: timedelta, prefix: str, scored: bool = False) -> list[dict]:
    step = span / max(1, len(texts))
    return [{"source": SOURCES[i % len(SOURCES)], "external_id": f"{prefix}{i}", "published_at": start + step * i,
             "text": t, "kind": "review" if i % 3 == 0 else "comment", "rating": float(1 + i % 5) if i % 3 == 0 else None,
             "replied": (i % 2 == 0) if i % 3 == 0 else None, "raw": {}} for i, t in enumerate(texts)]


def load(con: store.Connection, rows: list[dict], brand_of: Callable[[int], str]) -> None:
    """Bulk-load rows, split by brand, in chunks the way the fetch tasks hand them over."""
    by_brand: dict[str, list[dict]] = {}
    for i, r in enumerate(rows):
        by_brand.setdefault(brand_of(i), []).append(r)
    for brand, brand_rows in by_brand.items():
        for i in range(0, len(brand_rows), 100_000):
            store.save_mentions(con, brand, "bench", "t", brand_rows[i:i + 100_000], run_id="load")


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def throughput(texts: list[str], repeat: int, workdir: Path) -> dict[str, float]:
    raw, one, two = [], [], []
    for r in range(repeat):
        raw.append(timed(lambda: [vader.polarity(t) for t in texts]))
        for workers, sink in ((1, one), (2, two)):
            with store.connection(workdir / f"tp-{r}-{workers}.duckdb") as con:
                load(con, rows_for(texts, UNTIL - timedelta(days=1), timedelta(days=1), "m"), lambda i: BRANDS[i % 2])
                sink.append(timed(lambda: score_unscored(con, workers=workers)))
    return {"raw": statistics.median(raw), "one": statistics.median(one), "two": statistics.median(two)}


def nightly_work(con: store.Connection, new_texts: list[str], tag: str) -> float:
    """What a nightly run does to the database, without the network: store, score, detect, digest."""
    period_start = UNTIL - timedelta(days=1)
    new = rows_for(new_texts, period_start, timedelta(days=1), f"new-{tag}-")

    def work() -> None:
        load(con, new, lambda i: BRANDS[i % 2])
        score_unscored(con, workers=1)
        for brand in CONFIG.brands:
            detect_brand_alerts(con, brand, period_start, UNTIL, CONFIG)
        build_digest(con, CONFIG, list(BRANDS), period_start, UNTIL, "bench")

    return timed(work)


def big_database(path: Path, size: int, per_day: int) -> store.Connection:
    """`size` mentions at `per_day` a day up to tonight (a quiet night: tonight's volume is the usual one),
    scored as the default model scores their texts (each distinct text scored once)."""
    con = store.connect(path)
    texts = make_texts(2000, seed=3)
    scores = dict(zip(texts, sentiment.score_texts(texts, workers=1)))
    days = size / per_day
    start = UNTIL - timedelta(days=1 + days)
    step = timedelta(days=days) / size
    for chunk in range(0, size, 200_000):
        rows = [{"source": SOURCES[i % len(SOURCES)], "external_id": f"old{i}", "published_at": start + step * i,
                 "text": texts[i % len(texts)], "kind": "comment", "raw": {}}
                for i in range(chunk, min(size, chunk + 200_000))]
        load(con, rows, lambda i: BRANDS[i % 2])
    unscored = store.fetch_unscored(con, size)
    store.save_scores(con, [{"source": s, "external_id": e, "brand": b, "compound": scores[t].compound,
                             "pos": scores[t].pos, "neu": scores[t].neu, "neg": scores[t].neg,
                             "label": scores[t].label, "model": scores[t].model, "language": scores[t].language}
                            for s, e, b, t, _rating, _language in unscored])
    return con


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pipeline")
    p.add_argument("--texts", type=int, default=20000, help="texts for the throughput ratios")
    p.add_argument("--big", type=int, default=1_000_000, help="mentions already in the big database")
    p.add_argument("--new", type=int, default=5000, help="new mentions in the nightly run")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="repwatch-bench-") as tmp:
        workdir = Path(tmp)
        texts = make_texts(args.texts)
        tp = throughput(texts, args.repeat, workdir)
        print(f"score+store, {args.texts} texts (median of {args.repeat}): raw VADER {tp['raw']:.2f} s, "
              f"pipeline 1 worker {tp['one']:.2f} s, 2 workers {tp['two']:.2f} s")
        print(f"  throughput ratio, 1 worker: {tp['raw'] / tp['one']:.2f} of raw VADER (goal >= 0.9)")
        print(f"  throughput ratio, 2 workers: {tp['raw'] / tp['two']:.2f} x raw VADER (goal >= 1.7)")

        started = time.perf_counter()
        big = big_database(workdir / "big.duckdb", args.big, per_day=args.new)
        print(f"built a {store.count_mentions(big):,}-mention database in {time.perf_counter() - started:.0f} s")
        new_texts = make_texts(args.new, seed=5)
        on_big, on_empty = [], []
        for r in range(args.repeat):
            with store.connection(workdir / f"empty-{r}.duckdb") as empty:
                on_empty.append(nightly_work(empty, new_texts, f"e{r}"))
            on_big.append(nightly_work(big, new_texts, f"b{r}"))
            # Each repeat is the same night on the same database: left in, one repeat's 5,000 would make the
            # next one's night twice as busy as usual, a spike (and an alert to assemble) the empty side never has.
            big.execute("DELETE FROM mentions WHERE external_id LIKE ?", [f"new-b{r}-%"])
        big.close()
        b, e = statistics.median(on_big), statistics.median(on_empty)
        print(f"nightly work with {args.new} new mentions (median of {args.repeat}): "
              f"{b:.2f} s on {args.big:,} mentions, {e:.2f} s on an empty database")
        print(f"  cost ratio, big / empty: {b / e:.2f} (goal <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
