"""The NAB scorer on hand-worked cases, and the backtest over a store."""
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from analysis import store
from benchmarks.nab import Profile, normalised, score_series, sigma
from flows.backtest import backtest_rows

STANDARD = Profile("standard", 1.0, 1.0, 0.11)


def test_nab_window_start_earns_full_reward_and_silence_costs():
    n = 2000  # probation = 300 rows
    windows = [(1000, 1099)]
    at_start = np.zeros(n, bool)
    at_start[1000] = True
    raw, counted, c = score_series(at_start, windows, STANDARD)
    assert raw == pytest.approx(1.0) and counted == 1 and c == {"tp": 1, "fn": 0, "fp": 0}
    silent = np.zeros(n, bool)
    assert score_series(silent, windows, STANDARD)[0] == -1.0
    assert normalised(-1.0, 1, STANDARD) == 0.0 and normalised(1.0, 1, STANDARD) == 100.0


def test_nab_false_positives_cost_more_far_from_a_window():
    windows = [(1000, 1099)]
    near, far, before = (np.zeros(3000, bool) for _ in range(3))
    near[1105], far[2500], before[500] = True, True, True
    cost = lambda d: score_series(d, windows, STANDARD)[0] + 1.0  # minus the missed window
    assert -0.11 < cost(near) < 0 and cost(far) == pytest.approx(0.11 * sigma(1400 / 99))
    assert cost(before) == pytest.approx(-0.11)
    late = np.zeros(3000, bool)
    late[1099] = True
    assert score_series(late, windows, STANDARD)[0] == pytest.approx(sigma(-1 / 100) / sigma(-1))


def test_nab_detections_in_probation_count_for_nothing():
    d = np.zeros(2000, bool)
    d[10] = True
    assert score_series(d, [(1000, 1100)], STANDARD)[0] == -1.0


def test_backtest_finds_the_incident_at_every_sensitivity_but_fewer_when_low():
    con = store.connect(":memory:")
    rng = np.random.default_rng(0)
    end = datetime(2026, 11, 24, tzinfo=timezone.utc)
    start = end - timedelta(days=40)
    rows, n = [], 0
    for h in range(40 * 24):
        t = start + timedelta(hours=h)
        k = rng.poisson(4) + (40 if h == 35 * 24 + 3 else 0)
        for j in range(k):
            n += 1
            rows.append({"source": "feed", "external_id": str(n), "published_at": t + timedelta(seconds=j),
                         "text": "x", "raw": {}})
    store.save_mentions(con, "Acme", "feed", "u", rows, run_id="r")
    result = backtest_rows(con, ["Acme"], end - timedelta(days=10), end, 3600, 28, ["low", "medium", "high"])
    mentions = {r["sensitivity"]: r["alerts"] for r in result if r["metric"] == "mentions"}
    assert [a["at"] for a in mentions["medium"]] == [start + timedelta(hours=35 * 24 + 4)]
    assert len(mentions["low"]) <= len(mentions["medium"]) <= len(mentions["high"])


def test_leave_one_out_scores_each_series_with_a_setting_chosen_on_the_others():
    from benchmarks.nab import Series
    from benchmarks.spikes import LOO_GRID, detections_for, leave_one_out, nab_score
    from analysis.detection.spikes import SpikeParams
    from dataclasses import replace
    rng = np.random.default_rng(3)
    start = datetime(2026, 1, 1)
    series = []
    for k in range(3):
        values = rng.poisson(4.0, 24 * 40).astype(float)
        at = 30 * 24 + 5 * k
        values[at:at + 3] = 60
        stamps = [start + timedelta(hours=i) for i in range(len(values))]
        series.append(Series(f"s{k}.csv", stamps, values, [(at - 10, at + 10)]))
    folds = leave_one_out(series, SpikeParams(), STANDARD)
    assert [f[0] for f in folds] == ["s0.csv", "s1.csv", "s2.csv"]
    for (name, score, chosen), held in zip(folds, series):
        assert chosen["false_alarms_per_month"] in LOO_GRID["false_alarms_per_month"]
        found = detections_for([held], replace(SpikeParams(), **chosen))
        assert score == pytest.approx(nab_score([held], found, STANDARD))
        assert score > 50  # a 15x burst is caught, whatever budget the others chose


def test_real_stress_cases_cut_copy_and_thin_around_the_labelled_windows():
    from benchmarks.nab import Series
    from benchmarks.real_stress import first_week_cases, near_zero_cases, repeated_cases
    per_day = 24
    values = np.full(24 * 40, 10.0)
    values[30 * 24:30 * 24 + 3] = 100.0
    stamps = [datetime(2026, 1, 1) + timedelta(hours=i) for i in range(len(values))]
    window = (30 * 24 - 2, 30 * 24 + 5)
    s = Series("s.csv", stamps, values, [window])

    cuts = list(first_week_cases(s, per_day))
    assert [c.targets[0][0] for c in cuts] == [3 * 24, 4 * 24, 5 * 24, 6 * 24]  # the window 3 to 6 days in
    assert all(c.values[c.targets[0][0] + 2] == 100.0 for c in cuts)

    copies = list(repeated_cases(s, per_day))
    assert [c.targets[0][0] - window[1] for c in copies] == [24, 48, 72]
    for c in copies:
        start = c.targets[0][0]
        assert c.values[start + 2] == 10.0 + 90.0  # the rise over the day before, added again
        assert window in c.windows and c.values[window[0] + 2] == 100.0  # the original untouched

    thinned = list(near_zero_cases(s))
    assert len(thinned) == 6 and all(np.median(c.values) < 2 for c in thinned)
    assert all(c.values.sum() < values.sum() / 3 for c in thinned)


def _write_series_folder(folder, labelled: bool) -> None:
    """Two hourly series, each with one 15x burst at day 30, in the shared NAB folder format."""
    import json
    rng = np.random.default_rng(5)
    start = datetime(2015, 3, 1)
    windows = {}
    for k in range(2):
        values = rng.poisson(4.0, 24 * 40)
        at = 30 * 24 + 7 * k
        values[at:at + 3] = 60
        stamps = [start + timedelta(hours=i) for i in range(len(values))]
        lines = ["timestamp,value"] + [f"{t:%Y-%m-%d %H:%M:%S},{v}" for t, v in zip(stamps, values)]
        (folder / f"s{k}.csv").write_text("\n".join(lines) + "\n")
        windows[f"s{k}.csv"] = [[f"{stamps[at - 10]:%Y-%m-%d %H:%M:%S}", f"{stamps[at + 10]:%Y-%m-%d %H:%M:%S}"]]
    if labelled:
        (folder / "windows.json").write_text(json.dumps(windows))  # no profiles.json: NAB's own costs


def test_benchmark_command_scores_a_folder_and_dumps_one_detection_per_row(tmp_path, capsys):
    from benchmarks.spikes import main
    _write_series_folder(tmp_path, labelled=True)
    assert main([str(tmp_path), "--dump", str(tmp_path / "out"), "--set", "warmup_days=5"]) == 0
    printed = capsys.readouterr().out
    assert "warmup_days=5" in printed
    label, _, score = printed.splitlines()[-1].rpartition(" ")
    assert label == "NAB standard:" and float(score) > 80  # both bursts caught, at their start
    dumped = (tmp_path / "out" / "s0.csv").read_text().splitlines()
    assert dumped[0] == "timestamp,detection" and len(dumped) == 1 + 24 * 40
    fired = [line for line in dumped[1:] if line.endswith(",1")]
    assert fired[0] == "2015-03-31 00:00:00,1"  # the burst's first hour (day 30)


def test_benchmark_command_without_labels_still_writes_the_detections(tmp_path, capsys):
    from benchmarks.spikes import main
    _write_series_folder(tmp_path, labelled=False)
    assert main([str(tmp_path)]) == 2  # nothing to score and nowhere to write: says so
    assert "no windows.json" in capsys.readouterr().err
    assert main([str(tmp_path), "--dump", str(tmp_path / "out")]) == 0
    assert "nothing scored" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["s0.csv", "s1.csv"]


def test_benchmark_command_reads_nab_style_window_keys_and_refuses_a_malformed_row(tmp_path, capsys):
    import json
    from benchmarks.nab import load_series
    from benchmarks.spikes import main
    _write_series_folder(tmp_path, labelled=True)
    plain = {s.name: s.windows for s in load_series(tmp_path)}
    # NAB's combined windows name each file with its folder, and a window may carry an offset.
    windows = json.loads((tmp_path / "windows.json").read_text())
    keyed = {f"realTweets/{name}": [[a + "+00:00", b] for a, b in spans] for name, spans in windows.items()}
    keyed["realTweets/gone.csv"] = [["2015-03-02 00:00:00", "2015-03-02 01:00:00"]]
    (tmp_path / "windows.json").write_text(json.dumps(keyed))
    assert {s.name: s.windows for s in load_series(tmp_path)} == plain and all(plain.values())
    assert "gone.csv has windows but no such file" in capsys.readouterr().err
    lines = (tmp_path / "s1.csv").read_text().splitlines()
    lines[5] = lines[5].split(",")[0] + ","  # a row with no value
    (tmp_path / "s1.csv").write_text("\n".join(lines) + "\n")
    assert main([str(tmp_path), "--dump", str(tmp_path / "out")]) == 2
    assert "s1.csv, line 6: not a timestamp,value row" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_benchmark_settings_take_each_parameter_type_and_refuse_the_rest():
    import argparse
    from benchmarks.spikes import parse_setting
    assert parse_setting("baseline_days=10") == ("baseline_days", 10)
    assert parse_setting("false_alarms_per_month=0.3") == ("false_alarms_per_month", 0.3)
    assert parse_setting("window_seconds=900,3600") == ("window_seconds", (900, 3600))
    for bad in ("baseline_days=1.5", "nonsense=1", "min_ratio=", "min_ratio=two"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_setting(bad)


def test_start_offsets_cut_each_series_and_drop_the_windows_the_cut_reaches():
    from benchmarks.nab import Series
    from benchmarks.spikes import detections_for, nab_score, start_offsets
    from analysis.detection.spikes import SpikeParams
    rng = np.random.default_rng(4)
    start = datetime(2026, 1, 1)
    values = rng.poisson(4.0, 24 * 30).astype(float)
    early, late = 24 + 3, 20 * 24
    for at in (early, late):
        values[at:at + 3] = 60
    stamps = [start + timedelta(hours=i) for i in range(len(values))]
    s = Series("s.csv", stamps, values, [(early - 2, early + 5), (late - 2, late + 5)])
    scores = dict(start_offsets([s], SpikeParams(), STANDARD, offsets_days=(0.0, 1.0, 2.0)))
    assert list(scores) == [0.0, 1.0, 2.0]
    # Two days cut: the early window is gone, the late one is scored on the shorter series.
    cut = Series("s.csv", stamps[48:], values[48:], [(late - 2 - 48, late + 5 - 48)])
    assert scores[2.0] == pytest.approx(nab_score([cut], detections_for([cut], SpikeParams()), STANDARD))
    assert scores[0.0] == pytest.approx(nab_score([s], detections_for([s], SpikeParams()), STANDARD))
    # With a 12-hour outage on the first day, two days later is still two days later, not 48 rows.
    from benchmarks.spikes import begun_later
    keep = np.r_[0:6, 18:len(values)]
    gapped = Series("g.csv", [stamps[i] for i in keep], values[keep], [(late - 2 - 12, late + 5 - 12)])
    later = begun_later(gapped, 2.0)
    assert later.timestamps[0] == start + timedelta(days=2) and later.values.tolist() == values[48:].tolist()
    assert later.windows == [(late - 2 - 48, late + 5 - 48)]


def test_synthetic_evaluation_counts_first_week_false_alarms_apart():
    from benchmarks.synthetic import Synthetic, evaluate
    rng = np.random.default_rng(2)
    h = np.arange(40 * 24)
    counts = rng.poisson(20 * (1 + 0.5 * np.sin(2 * np.pi * (h % 24) / 24))).astype(float)
    counts[3 * 24 + 14:3 * 24 + 17] = 200  # unlabelled, in the first week: a false alarm there
    incident = (30 * 24 + 5, 30 * 24 + 8)
    counts[incident[0]:incident[1]] = 200
    summary = evaluate([Synthetic("burst", counts, counts * 0.1, [incident])])["burst"]
    assert summary["incidents"] == 1 and summary["recall"] == 1.0
    assert summary["first_week_false_alarms"] == 1 and summary["first_week_quiet_days"] == 7
    assert summary["false_alarms"] >= 1
    assert summary["quiet_days"] == pytest.approx(40 - (3 + 24) / 24)  # the incident and the day after it


def test_a_series_with_missing_rows_is_laid_on_its_grid_and_loses_no_detection():
    from benchmarks.nab import Series
    from benchmarks.spikes import detections_for
    from analysis.detection.spikes import SpikeParams
    rng = np.random.default_rng(6)
    h = np.arange(40 * 24)
    values = rng.poisson(20 * (1 + 0.9 * np.sin(2 * np.pi * (h % 24) / 24))).astype(float)
    at = 30 * 24 + 2
    values[at:at + 3] = 300
    stamps = [datetime(2015, 3, 1) + timedelta(hours=int(i)) for i in h]
    keep = np.ones(len(h), dtype=bool)
    keep[10 * 24:10 * 24 + 12] = False  # a 12-hour outage: without the grid every later day is half a day off
    keep[at:at + 2] = False  # the incident's first two hours are missing too
    gapped = Series("g.csv", [t for t, k in zip(stamps, keep) if k], values[keep], [])
    fired = detections_for([gapped], SpikeParams())["g.csv"]
    assert len(fired) == keep.sum()
    rows = np.flatnonzero(keep)
    assert fired[np.searchsorted(rows, at + 2)]  # fired in the gap: reported on the next row there is
    assert fired[rows > 10 * 24 + 12].sum() == 1  # and nothing else after the outage, the day stays aligned
    with pytest.raises(ValueError, match="time order"):
        detections_for([Series("r.csv", stamps[::-1], values[::-1], [])], SpikeParams())


def test_real_stress_lays_a_series_with_missing_rows_on_its_grid_before_cutting_it():
    from benchmarks.nab import Series
    from benchmarks.real_stress import gridded
    stamps = [datetime(2015, 3, 1) + timedelta(hours=i) for i in range(10)]
    keep = [0, 1, 2, 5, 6, 7, 8, 9]  # hours 3 and 4 missing
    s = Series("g.csv", [stamps[i] for i in keep], np.array([4.0, 4, 4, 10, 4, 4, 4, 4]), [(3, 4)])
    g = gridded(s)
    assert g.timestamps == stamps and g.values.tolist() == [4, 4, 4, 6, 8, 10, 4, 4, 4, 4]
    assert g.windows == [(5, 6)]  # the window's rows, now at their hours
    regular = Series("r.csv", stamps, np.ones(10), [])
    assert gridded(regular) is regular


def test_each_false_alarm_and_missed_window_is_told_with_its_hour_against_the_expectation():
    from benchmarks.alarms import Hours, describe, false_alarms, missed_windows, summary
    counts = np.full(240, 2.0)  # 5-minute buckets: an hour is 12 of them
    expected = np.full(240, 2.0)
    counts[200:203] += 40.0  # 120 more in three buckets: the hour ending at 202 holds 144 against 24
    hours = Hours.on_grid(counts, expected, 300)
    assert (hours.observed[202], hours.expected[202]) == (144.0, 24.0)
    assert hours.observed[5] == 12.0  # the first hour holds what there is of it
    fired = np.zeros(240, dtype=bool)
    fired[[10, 60, 120, 202]] = True  # 10: in the probation (the first 15%), never scored
    windows = [(55, 70), (150, 170)]  # 60 is inside the first; nothing fired in the second
    alarms = false_alarms(fired, windows, hours)
    assert [(a.row, a.observed, a.expected) for a in alarms] == [(120, 24.0, 24.0), (202, 144.0, 24.0)]
    assert [a.ratio for a in alarms] == [1.0, 6.0]
    assert alarms[1].day == pytest.approx(202 * 300 / 86400)
    missed = missed_windows(fired, windows, hours)
    assert [(m.kind, m.row) for m in missed] == [("missed", 150)]  # a flat window: its first hour
    assert summary(alarms) == ("false alarms: 2, of which 1 at 5x their hour's expectation or more "
                               "and 2 in a series' first 14 days; median size 3.5x")
    assert summary([]) == "false alarms: none"
    assert describe(alarms[1]) == "false alarm day   0.7  its hour 144 against 24.0 expected (6.0x)"
    # A series with gaps: the rows read the hours of their buckets on the grid.
    rows = np.r_[0:100, 110:240]
    gapped = Hours.on_grid(counts, expected, 300, rows)
    assert gapped.observed[192] == 144.0 and gapped.day[100] == pytest.approx(110 * 300 / 86400)


def test_a_false_alarm_is_sized_by_the_incident_it_opened_and_its_size_when_fired_is_kept():
    from analysis.detection.spikes import Incident
    from benchmarks.alarms import Hours, describe, false_alarms, noise_line
    counts = np.full(240, 2.0)  # 5-minute buckets, 2 a bucket: 24 an hour
    expected = np.full(240, 2.0)
    counts[190:202] = 8.0  # the hour ending at 201 holds 96 (4x) ...
    counts[202:214] = 14.0  # ... and the one ending at 213 holds 168 (7x): the burst grew after it fired
    fired = np.zeros(240, dtype=bool)
    fired[[195, 230]] = True
    found = [Incident(start=190, end=213, peak=213, observed=0, expected=0, pvalue=0, ongoing=False, fired=195),
             Incident(start=230, end=230, peak=230, observed=0, expected=0, pvalue=0, ongoing=False, fired=230)]
    sized = false_alarms(fired, [(10, 20)], Hours.on_grid(counts, expected, 300, found=found))
    at_firing = false_alarms(fired, [(10, 20)], Hours.on_grid(counts, expected, 300))
    assert [a.row for a in sized] == [a.row for a in at_firing] == [195, 230]  # where each fired, either way
    assert (sized[0].observed, sized[0].expected, sized[0].ratio) == (168.0, 24.0, 7.0)
    assert sized[0].fired_ratio == at_firing[0].ratio == pytest.approx(2.5)  # 6 buckets of 8, 6 of 2: 60 of 24
    assert sized[1].ratio == at_firing[1].ratio  # an incident of one bucket: the same hour
    assert describe(sized[0]).endswith("its hour 168 against 24.0 expected (7.0x), 2.5x when it fired")
    assert noise_line(sized, 1.0) == ("false alarms per series-month: 1.00 under 5x (noise), 1.00 at 5x or more "
                                      "(unlabelled bursts), over 1.0 series-months; sized by the hour each fired "
                                      "at instead: 2.00 under 5x")
    # With gaps: the incident's end is read on the grid and reached through the rows that hold it.
    rows = np.r_[0:150, 160:240]
    gapped = Hours.on_grid(counts, expected, 300, rows, found=found)
    assert gapped.reach[195 - 10] == 213 - 10 and gapped.reach[0] == 0


def test_benchmark_command_explains_its_false_alarms_and_misses(tmp_path, capsys):
    import json
    from benchmarks.spikes import main
    _write_series_folder(tmp_path, labelled=True)
    # An unlabelled 15x burst on day 20 of s0, and s1's label moved off its burst to a quiet day.
    lines = (tmp_path / "s0.csv").read_text().splitlines()
    for h in range(20 * 24 + 3, 20 * 24 + 6):
        lines[1 + h] = lines[1 + h].split(",")[0] + ",60"
    (tmp_path / "s0.csv").write_text("\n".join(lines) + "\n")
    windows = json.loads((tmp_path / "windows.json").read_text())
    windows["s1.csv"] = [["2015-03-26 00:00:00", "2015-03-26 20:00:00"]]
    (tmp_path / "windows.json").write_text(json.dumps(windows))
    assert main([str(tmp_path), "--explain"]) == 0
    printed = capsys.readouterr().out
    assert "false alarm day  20.1  its hour 60 against" in printed  # s0's unlabelled burst
    assert "missed      day  25." in printed  # s1's quiet labelled day
    assert "false alarm day  30.3  its hour 60 against" in printed  # s1's burst, now unlabelled
    # The summary counts every false alarm the scorer counted (here also a stray 4x hour of Poisson
    # noise the day after s0's burst) and tells the two big ones apart.
    assert "false alarms: 3, of which 2 at 5x their hour's expectation or more and 0 in a series' first 14 days" \
        in printed


def test_real_stress_tells_first_week_alarms_the_full_history_also_raises_from_those_a_short_one_adds():
    from benchmarks.nab import Series
    from benchmarks.real_stress import added_by_short_history, evaluate, first_week_cases
    from analysis.detection.spikes import SpikeParams
    rng = np.random.default_rng(3)
    values = rng.poisson(4.0, 24 * 40).astype(float)
    burst, labelled = 28 * 24 + 12, 30 * 24 + 12
    values[burst:burst + 3] = 60  # unlabelled, a day and a half before the labelled one: in every first-week case
    values[labelled:labelled + 3] = 60
    stamps = [datetime(2015, 3, 1) + timedelta(hours=i) for i in range(len(values))]
    s = Series("s.csv", stamps, values, [(labelled - 6, labelled + 6)])
    cases = list(first_week_cases(s, 24))
    assert [c.begins for c in cases] == [labelled - 6 - d * 24 for d in (3, 4, 5, 6)]
    assert all(c.values[burst - c.begins] == 60 for c in cases)
    # Each case alarms on the unlabelled burst, and the full history alerts on it at the same row (read
    # through `begins`: were a case's rows taken for the series' own, all four would count as added).
    alarms = evaluate(((c, 3600) for c in cases), SpikeParams(), STANDARD).alarms
    assert (len(alarms), added_by_short_history(s, alarms, SpikeParams())) == (4, 0)


def test_synthetic_evaluation_counts_an_alert_on_the_onset_as_catching_the_burst():
    from benchmarks.synthetic import Synthetic, evaluate
    rng = np.random.default_rng(3)
    h = np.arange(40 * 24)
    counts = rng.poisson(20 * (1 + 0.5 * np.sin(2 * np.pi * (h % 24) / 24))).astype(float)
    incident = (30 * 24 + 5, 30 * 24 + 8)
    counts[incident[0] - 1] = 150  # the rise begins an hour before the labelled start, and alerts there
    counts[incident[0]:incident[1]] = 400
    summary = evaluate([Synthetic("burst", counts, counts * 0.1, [incident])])["burst"]
    assert summary["recall"] == 1.0 and summary["median_lead_h"] == -1
    assert summary["false_alarms"] == 0  # the onset's alert is the burst's, not a false one
    counts[incident[0] - 1] = counts[incident[0] - 2]  # without the early hour: caught at the start
    summary = evaluate([Synthetic("burst", counts, counts * 0.1, [incident])])["burst"]
    assert summary["recall"] == 1.0 and summary["median_lead_h"] == 0 and summary["false_alarms"] == 0
