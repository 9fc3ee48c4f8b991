"""Results that travel as files: a cluster task writes a target's scored mentions to Parquet under the
staging URL and returns the path; the writer loads it, commits, and removes it.

Any fsspec URL works (a local folder by default, `s3://bucket/prefix` for a real
cluster): the scheduler carries paths, not rows. Each run stages under its own
folder. A run killed between a worker's write and the writer's commit leaves
its folder behind; the next run on the database discards it unread. Nothing in
it was committed (a source's cursor moves in the transaction that stores its
rows), so the next fetch reads those mentions again: loaded once, never twice.
"""
from __future__ import annotations

import json
import uuid

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from analysis import store

SCORE_FIELDS = ("compound", "pos", "neu", "neg", "label", "rated_label", "model", "language")


def run_folder(staging: str, run_id: str) -> str:
    return f"{staging.rstrip('/')}/run-{run_id}"


def write_staged(folder: str, rows: list[store.MentionRow], scores: list[store.Row]) -> str:
    """One target's rows and their scores (same order) as a Parquet file in `folder`; its URL."""
    records = [{**{k: v for k, v in row.items() if k != "raw"}, "raw_json": json.dumps(row.get("raw") or {}, default=str),
                **{f"score_{k}": score.get(k) for k in SCORE_FIELDS}} for row, score in zip(rows, scores)]
    url = f"{folder.rstrip('/')}/{uuid.uuid4().hex}.parquet"
    fs, path = fsspec.core.url_to_fs(url)
    fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with fs.open(path, "wb") as out:
        pq.write_table(pa.Table.from_pylist(records), out)
    return url


def read_staged(url: str) -> tuple[list[store.MentionRow], list[store.Row]]:
    """The rows and scores a task staged, as it had them."""
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as src:
        records = pq.read_table(src).to_pylist()
    rows, scores = [], []
    for r in records:
        scores.append({k: r.pop(f"score_{k}", None) for k in SCORE_FIELDS})
        r["raw"] = json.loads(r.pop("raw_json") or "{}")
        rows.append(r)
    return rows, scores


def remove(url: str) -> None:
    fs, path = fsspec.core.url_to_fs(url)
    fs.rm(path)


def discard_stale(staging: str) -> list[str]:
    """Remove every run folder under `staging` (runs killed before their commit, or this one's, done); what was
    removed."""
    fs, root = fsspec.core.url_to_fs(staging)
    if not fs.exists(root):
        return []
    removed = []
    for entry in fs.ls(root, detail=False):
        if entry.rstrip("/").rsplit("/", 1)[-1].startswith("run-"):
            fs.rm(entry, recursive=True)
            removed.append(entry)
    return removed
