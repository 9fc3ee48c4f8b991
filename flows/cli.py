"""The `repwatch` command: run, watch, demo, check, serve, rescore (and backtest)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

# No network here or in most deployments: Prefect must not try to phone home.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from flows.config import ConfigError, load_config  # noqa: E402

from flows.command_runs import (  # noqa: E402
    EXIT_BUSY, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, print_outcome, run_nightly, run_watch,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="repwatch", description="Reputation monitor: reviews, mentions, spikes, digest.")
    p.add_argument("--debug", action="store_true", help="show the traceback of a failure instead of one line")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the nightly flow once on a config")
    run.add_argument("--config", default="monitor.yaml", help="path to monitor.yaml (default: %(default)s)")
    run.add_argument("--since", help="start of the period (YYYY-MM-DD or ISO datetime; default: 24 h before --until)")
    run.add_argument("--until", help="end of the period (default: the last full hour)")
    run.add_argument("--brand", action="append", dest="brands", metavar="NAME", help="only this brand (repeatable)")
    run.add_argument("--source", action="append", dest="sources", metavar="NAME", help="only this source (repeatable)")
    run.add_argument("--no-email", action="store_true", help="write the outbox, send nothing")
    run.add_argument("--resend", action="store_true", help="render and send the digest again for this period")
    run.add_argument("--cadence", choices=["daily", "weekly"], default="daily",
                     help="daily: the daily groups' digest of the period; weekly: the weekly groups' week up to "
                          "their latest send time, or up to --until (default: %(default)s)")

    watch = sub.add_parser("watch", help="one watch round: fetch what is new, detect, push alerts to the groups' chats")
    watch.add_argument("--config", default="monitor.yaml", help="path to monitor.yaml (default: %(default)s)")
    watch.add_argument("--until", help="the round's time (ISO datetime, config time zone; default: now)")

    demo = sub.add_parser("demo", help="the nightly flow on bundled demo data served from 127.0.0.1")
    demo.add_argument("--data-dir", default="data/demo", help="where the demo database and outbox go (default: %(default)s)")
    demo.add_argument("--serve", action="store_true",
                      help="only serve the demo sites and write their config, until Ctrl-C: for repwatch run and the UI")
    demo.add_argument("--port", type=int, default=8765, help="the demo sites' port with --serve (default: %(default)s)")
    demo.add_argument("--at", metavar="HH:MM",
                      help="with --serve: replay the demo night, serving only what was published by then (22:15)")

    check = sub.add_parser("check", help="validate a config and exit")
    check.add_argument("--config", default="monitor.yaml")

    serve = sub.add_parser("serve", help="serve the nightly and watch deployments from this process (needs a Prefect server)")
    serve.add_argument("--config", default="monitor.yaml")
    serve.add_argument("--cron", default="0 6 * * *", help="the nightly schedule (default: %(default)s, config time zone); watch runs on watch.cron, weekly every hour for the groups' send times")

    rescore = sub.add_parser("rescore", help="score stored mentions again with the configured sentiment model, in bulk")
    rescore.add_argument("--config", default="monitor.yaml")
    rescore.add_argument("--since", help="only mentions published since this date (YYYY-MM-DD; default: all)")
    rescore.add_argument("--model", choices=["learned", "vader"], help="this model instead of the config's")
    rescore.add_argument("--all", action="store_true", dest="everything",
                         help="also the mentions the model already scored (default: only those another model scored)")

    backtest = sub.add_parser("backtest", help="replay stored history and show what each sensitivity would alert")
    backtest.add_argument("--config", default="monitor.yaml")
    backtest.add_argument("--since", required=True, help="replay from this date (YYYY-MM-DD)")
    backtest.add_argument("--until", help="replay up to this date (default: now)")
    backtest.add_argument("--sensitivity", choices=["low", "medium", "high"], action="append",
                          help="only this sensitivity (repeatable; default: all three)")
    return p


def cmd_run(args: argparse.Namespace) -> int:
    # Fail before Prefect starts, with the one clear message.
    config = load_config(args.config)
    _check_credentials(config, args.config)
    if not config.groups(args.cadence):
        raise ConfigError(f"{args.config}: no digest group has cadence: {args.cadence} (digest.groups[].cadence)")
    code, outcome = run_nightly(args.config, since=args.since, until=args.until, brands=args.brands,
                           sources=args.sources, send_email=not args.no_email, resend=args.resend,
                           cadence=args.cadence)
    print_outcome(outcome)
    return code


def cmd_watch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    _check_credentials(config, args.config)
    from flows.config_check import missing_notify

    for line in missing_notify(config):
        print(f"warning: {args.config}: {line}", file=sys.stderr)
    code, outcome = run_watch(args.config, args.until)
    print_outcome(outcome)
    return code


def _check_credentials(config: Any, config_path: str) -> None:
    """Missing secrets stop a run before it starts, each named with its source."""
    from flows.config_check import missing_credentials

    missing = missing_credentials(config)
    if missing:
        raise ConfigError("\n".join(f"{config_path}: {line}" for line in missing))


def cmd_demo(args: argparse.Namespace) -> int:
    from flows.demo.runner import run_demo

    return run_demo(args.data_dir, serve=args.serve, port=args.port, at=args.at)


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    _check_credentials(config, args.config)
    from flows.config_check import missing_notify

    missing = missing_notify(config)
    if missing:
        raise ConfigError("\n".join(f"{args.config}: {line}" for line in missing))
    from flows.cluster_check import cluster_report

    good, bad = cluster_report(config)
    targets = sum(len(s.targets) for b in config.brands for s in b.sources)
    for line in good:
        print(f"{args.config}: {line}")
    for line in bad:
        print(f"{args.config}: PROBLEM: {line}", file=sys.stderr)
    if bad:
        return EXIT_RUN_FAILED
    print(f"{args.config}: OK ({len(config.brands)} brands, {targets} targets, "
          f"{len(config.digest.groups)} digest groups)")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """The nightly deployment on --cron and the watch deployment on the config's watch.cron, from this process."""
    config = load_config(args.config)
    from prefect import serve
    from prefect.schedules import Cron

    from flows.nightly import nightly
    from flows.watch import watch

    parameters = {"config_path": str(Path(args.config).resolve())}
    serve(
        nightly.to_deployment(name="nightly", schedule=Cron(args.cron, timezone=config.timezone), parameters=parameters),
        watch.to_deployment(name="watch", schedule=Cron(config.watch.cron, timezone=config.timezone),
                            parameters=parameters),
        # Every hour: each weekly group's digest goes out at its own send time, once (a run with none due
        # fetches nothing).
        nightly.to_deployment(name="weekly", schedule=Cron("0 * * * *", timezone=config.timezone),
                              parameters={**parameters, "cadence": "weekly"}),
    )
    return EXIT_OK


def cmd_rescore(args: argparse.Namespace) -> int:
    """Every stored score made by another model (or version) is made again by this one: a recorded run, in bulk."""
    from analysis import clock, sentiment, store
    from flows.run import RunOutcome, recorded_run
    from flows.tasks.scoring import score_unscored

    config = load_config(args.config)
    model = args.model or config.sentiment.model
    since = _parse_day(args.since, "--since") if args.since else None
    started = time.perf_counter()
    params = {"config_path": args.config, "since": args.since, "model": model, "all": args.everything}
    now = clock.now()
    run_id = f"rescore-{now:%Y%m%dT%H%M%S.%f}"
    with recorded_run(config, "rescore", params, since or now, now, run_id, on_wait=print) as run:
        with store.connection(config.database) as con:
            if args.everything:
                store.clear_scores(con, since=since)
            before = store.sentiment_models(con)
            scored = score_unscored(con, model=model, rescore_since=since, rescore=True)
            after = store.sentiment_models(con)
        summary = (f"rescored {scored:,} mentions with {sentiment.model_id(model)} in "
                   f"{time.perf_counter() - started:.1f}s{' (published since ' + args.since + ')' if since else ''}")
        run.outcome = RunOutcome("rescore", args.since or "all", config.database, summary)
    print(summary)
    print("  before: " + (", ".join(f"{m or 'not scored'} {n:,}" for m, n in before.items()) or "no mentions"))
    print("  now:    " + (", ".join(f"{m or 'not scored'} {n:,}" for m, n in after.items()) or "no mentions"))
    return EXIT_OK


def _parse_day(value: str, flag: str) -> datetime:
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None
    return day if day.tzinfo else day.replace(tzinfo=timezone.utc)


def cmd_backtest(args: argparse.Namespace) -> int:
    from flows.backtest import run_backtest

    return run_backtest(args.config, args.since, args.until, args.sensitivity)


def main(argv: Sequence[str] | None = None) -> int:
    from analysis.runlock import DatabaseBusy
    from analysis.store.shape import StoreError
    from flows.lifeline import ServerDidNotStart

    args = _parser().parse_args(argv)
    handlers = {"run": cmd_run, "watch": cmd_watch, "demo": cmd_demo, "check": cmd_check, "serve": cmd_serve, "rescore": cmd_rescore,
                "backtest": cmd_backtest}
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        if args.debug:
            raise
        print(f"config error:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseBusy as exc:
        if args.debug:
            raise
        print(f"busy: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except (StoreError, ServerDidNotStart) as exc:  # what is around the run, not the run: one line, no traceback
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RUN_FAILED
    except ValueError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # `repwatch backtest ... | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
