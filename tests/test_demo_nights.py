"""README's replay holds on every demo night, not only on today's: 60 nights' rounds at the level of the store,
the detector and the push planning (tests/test_watch.py runs one night's rounds through Prefect and the sites)."""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

ZONE = ZoneInfo("Europe/London")
# Sixty mornings from a fixed date, one of them after the night the clocks go forward (29 March 2026).
FIRST_MORNING = date(2026, 3, 1)
NIGHTS = 60
ROUNDS = ("21:45", "22:15", "22:45", "23:15", "23:45", "07:30", "07:45")


def _replay(args: tuple[str, date]) -> tuple[date, list[tuple[str, str, str, str, str]], list[str]]:
    from flows.config import load_config
    from flows.demo.replay import replay_night

    config_path, morning = args
    config = load_config(config_path)
    rounds = replay_night(config, datetime(morning.year, morning.month, morning.day, 12, tzinfo=timezone.utc), ZONE,
                          ROUNDS)
    pushed = [(p.at, p.kind, p.brand, p.metric, p.severity) for r in rounds for p in r.pushes]
    still_on = [f"{a['brand']}/{a['source']}/{a['metric']}" for r in rounds if r.at == "07:30" for a in r.ongoing]
    return morning, pushed, still_on


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> list[tuple[date, list[tuple[str, str, str, str, str]], list[str]]]:
    from flows.demo.runner import write_demo_config

    config = write_demo_config(tmp_path_factory.mktemp("nights"), "http://127.0.0.1:9")
    mornings = [FIRST_MORNING + timedelta(days=k) for k in range(NIGHTS)]
    with ProcessPoolExecutor(2) as pool:
        return list(pool.map(_replay, [(str(config), m) for m in mornings]))


def test_every_night_one_high_push_by_23_15_then_back_to_normal_at_07_30(nights):
    wrong = []
    for morning, pushed, _ in nights:
        opened = [p for p in pushed if p[1] == "opened"]
        ended = [p for p in pushed if p[1] == "ended"]
        ok = (len(pushed) == 2 and len(opened) == 1 and len(ended) == 1
              and opened[0][0] in ("22:15", "22:45", "23:15") and opened[0][2:] == ("Parcelly", "mentions", "high")
              and ended[0][0] == "07:30")
        if not ok:
            wrong.append((morning.isoformat(), pushed))
    assert not wrong, f"{len(wrong)} of {len(nights)} nights: {wrong[:5]}"


def test_every_morning_no_alert_of_the_night_is_still_ongoing(nights):
    wrong = [(morning.isoformat(), still_on) for morning, _, still_on in nights if still_on]
    assert not wrong, f"{len(wrong)} of {len(nights)} mornings: {wrong[:5]}"




@pytest.mark.parametrize("morning", [date(2026, 3, 1), date(2026, 3, 29), date(2026, 7, 1)])
def test_the_nights_posts_in_other_languages_are_in_every_runs_24_hours(morning):
    # A run reports on the 24 hours to its last full hour, at whatever hour it runs (make run at 00:30 too):
    # the demo's posts and reviews in other languages are in them, so its digest always shows them read.
    from flows.demo.data import FOREIGN_MENTIONS, demo_anchor
    from flows.demo.review_data import FOREIGN_REVIEWS

    hours_before = [m[1] for m in FOREIGN_MENTIONS] + [r[1] for r in FOREIGN_REVIEWS]
    start = datetime(morning.year, morning.month, morning.day, tzinfo=ZONE).astimezone(timezone.utc)
    for minutes in range(0, 24 * 60, 10):
        now = start + timedelta(minutes=minutes)
        end = now.replace(minute=0, second=0, microsecond=0)
        anchor = demo_anchor(now, ZONE)
        outside = [h for h in hours_before if not end - timedelta(days=1) <= anchor - timedelta(hours=h) < end]
        assert not outside, (now.astimezone(ZONE), outside)
