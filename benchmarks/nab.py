"""NAB scoring (Lavin & Ahmad 2015), as ../shared/data/nab-realtweets/README.md specifies it.

Pure functions over row indices, so the scorer is tested on its own.
"""
from __future__ import annotations

import csv
import json
import math
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Profile:
    name: str
    tp: float
    fn: float
    fp: float


@dataclass(frozen=True)
class Series:
    name: str
    timestamps: list[datetime]
    values: np.ndarray
    windows: list[tuple[int, int]]  # inclusive row indices


def sigma(y: float) -> float:
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_rows(n: int) -> int:
    return min(int(math.floor(0.15 * n)), 750)


def score_series(detections: np.ndarray, windows: Sequence[tuple[int, int]], profile: Profile) -> tuple[float, int, dict]:
    """(raw score S, windows counted, counts) for one series."""
    n = len(detections)
    probation = probation_rows(n)
    counted = [w for w in windows if w[1] >= probation]
    score = 0.0
    tp = fn = fp = 0
    for start, end in counted:
        hits = [i for i in np.flatnonzero(detections[start:end + 1]) + start if i >= probation]
        if hits:
            y = -(end - hits[0] + 1) / (end - start + 1)
            score += profile.tp * sigma(y) / sigma(-1.0)
            tp += 1
        else:
            score -= profile.fn
            fn += 1
    ordered = sorted(windows)
    for i in np.flatnonzero(detections):
        if i < probation or any(s <= i <= e for s, e in ordered):
            continue
        previous = [w for w in ordered if w[1] < i]
        if previous:
            s, e = previous[-1]
            width = e - s + 1
            score += profile.fp * sigma((i - e) / max(width - 1, 1))
        else:
            score -= profile.fp
        fp += 1
    return score, len(counted), {"tp": tp, "fn": fn, "fp": fp}


def normalised(total: float, windows: int, profile: Profile) -> float:
    null, perfect = -profile.fn * windows, profile.tp * windows
    return 100.0 * (total - null) / (perfect - null)


# NAB's own cost profiles, for a folder that has none.
NAB_PROFILES = {name: {"CostMatrix": {"tpWeight": 1.0, "fnWeight": fn, "fpWeight": fp}}
                for name, fn, fp in (("standard", 1.0, 0.11), ("reward_low_FP_rate", 1.0, 0.22),
                                     ("reward_low_FN_rate", 2.0, 0.11))}


def load_profiles(folder: Path) -> list[Profile]:
    """The folder's cost profiles (NAB's three if it has no profiles.json), standard first."""
    path = folder / "profiles.json"
    raw = json.loads(path.read_text()) if path.exists() else NAB_PROFILES
    profiles = [Profile(name, c["CostMatrix"]["tpWeight"], c["CostMatrix"]["fnWeight"], c["CostMatrix"]["fpWeight"])
                for name, c in ((k, v) for k, v in raw.items())]
    return sorted(profiles, key=lambda p: p.name != "standard")


def _naive_utc(text: str) -> datetime:
    """A timestamp as naive UTC, whether or not it carries an offset (NAB's have none)."""
    t = datetime.fromisoformat(text.strip())
    return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def _read_series(path: Path) -> tuple[list[datetime], np.ndarray]:
    stamps, values = [], []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        if not {"timestamp", "value"} <= set(reader.fieldnames or ()):
            raise ValueError(f"{path.name}: expected a header with timestamp,value, got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                stamps.append(_naive_utc(row["timestamp"]))
                values.append(float(row["value"]))
            except (TypeError, ValueError):
                raise ValueError(f"{path.name}, line {line}: not a timestamp,value row: "
                                 f"{row.get('timestamp')!r},{row.get('value')!r}") from None
    return stamps, np.array(values)


def load_series(folder: Path) -> list[Series]:
    """Every `*.csv` in the folder, with its windows from windows.json (none if the folder has no labels).

    windows.json may name a file with its folder, as NAB's own combined
    windows do ("realTweets/Twitter_volume_GOOG.csv"): it is matched on the
    file name. A labelled file that is not in the folder is reported.
    """
    path = folder / "windows.json"
    by_name: dict[str, list] = {}
    for key, spans in (json.loads(path.read_text()) if path.exists() else {}).items():
        name = Path(key).name
        if name in by_name:
            raise ValueError(f"{path}: two entries for {name}")
        by_name[name] = spans
    csvs = sorted(folder.glob("*.csv"))
    for name in sorted(set(by_name) - {p.name for p in csvs}):
        print(f"{path}: {name} has windows but no such file in {folder}", file=sys.stderr)
    out = []
    for path in csvs:
        stamps, values = _read_series(path)
        spans = []
        for start, end in by_name.get(path.name, []):
            s, e = _naive_utc(start), _naive_utc(end)
            idx = [i for i, t in enumerate(stamps) if s <= t <= e]
            if idx:
                spans.append((idx[0], idx[-1]))
            else:
                print(f"{path.name}: window {start} to {end} holds no row of the series", file=sys.stderr)
        out.append(Series(path.name, stamps, values, spans))
    return out
