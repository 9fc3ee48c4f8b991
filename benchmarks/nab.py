"""NAB scoring (Lavin & Ahmad 2015), as ../shared/data/nab-realtweets/README.md specifies it.

Pure functions over row indices, so the scorer is tested on its own.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import datetime
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


def load_series(folder: Path) -> list[Series]:
    """Every `*.csv` in the folder, with its windows from windows.json (none if the folder has no labels)."""
    path = folder / "windows.json"
    windows = json.loads(path.read_text()) if path.exists() else {}
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open() as f:
            rows = list(csv.DictReader(f))
        stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
        values = np.array([float(r["value"]) for r in rows])
        spans = []
        for start, end in windows.get(path.name, []):
            s, e = datetime.fromisoformat(start), datetime.fromisoformat(end)
            idx = [i for i, t in enumerate(stamps) if s <= t <= e]
            if idx:
                spans.append((idx[0], idx[-1]))
        out.append(Series(path.name, stamps, values, spans))
    return out
