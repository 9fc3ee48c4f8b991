"""What `repwatch check` says of a Dask cluster (`engine: {kind: dask, address: ...}`) before a run needs it.

Whether the scheduler answers, how many workers it has, whether their Python, dask and repwatch match
this machine's, and whether each worker has the environment variables the configured sources read
(their names only, never their values), and no source reads its secrets from a Prefect block (a worker
has no Prefect API). Each problem is a line that says what to do.
"""
from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flows.config import MonitorConfig
from flows.credentials import env_names, required_fields
from scrapers.registry import scraper_class

CONNECT_SECONDS = 5.0


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def machine_facts(names: list[str]) -> dict[str, Any]:
    """This machine's versions, and which of `names` its environment lacks: run on each worker by the check."""
    return {"python": platform.python_version(), "dask": _version("dask"), "distributed": _version("distributed"),
            "repwatch": _version("repwatch"), "missing": [n for n in names if not os.environ.get(n)]}


def needed_environment(config: MonitorConfig) -> list[str]:
    """The environment variables the configured sources read their secrets from (not blocks or files)."""
    names: set[str] = set()
    for brand in config.brands:
        for src in brand.sources:
            creds = src.credentials
            if creds is not None and (creds.block or creds.file):
                continue
            fields = required_fields(scraper_class(src.source), tuple(src.targets))
            if fields:
                names.update(env_names(src.source, fields, creds))
    return sorted(names)


def block_credentials(config: MonitorConfig) -> list[str]:
    """Sources that read their secrets from a Prefect Secret block: on a cluster the fetch runs on a worker, which
    has no Prefect API to read it from."""
    return [f"brands[{b}] ({brand.name}).sources[{s}] ({src.source}) reads its secrets from the Prefect block "
            f"{src.credentials.block!r}, which a Dask worker cannot read: give the workers the environment "
            "variables or a credentials file instead"
            for b, brand in enumerate(config.brands) for s, src in enumerate(brand.sources)
            if src.credentials is not None and src.credentials.block]


def cluster_report(config: MonitorConfig) -> tuple[list[str], list[str]]:
    """(what is fine, what is wrong) of the configured cluster, a line each; nothing for the threads engine or
    a local cluster (started by the run itself, with this machine's environment)."""
    engine = config.engine
    if engine.kind != "dask":
        return [], []
    blocks = block_credentials(config)
    if not engine.address:
        return [], blocks
    try:
        from distributed import Client
    except ImportError:
        return [], ["engine kind dask needs dask's distributed here: pip install 'repwatch[dask]'", *blocks]
    try:
        client = Client(engine.address, timeout=CONNECT_SECONDS)
    except OSError as exc:
        return [], [f"engine.address {engine.address}: no Dask scheduler answers within {CONNECT_SECONDS:.0f} s "
                    f"({' '.join(str(exc).split())[:160]})", *blocks]
    with client:
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            return [f"engine.address {engine.address}: the scheduler answers"], [
                f"engine.address {engine.address}: no workers are connected to the scheduler"]
        here = machine_facts([])
        names = needed_environment(config)
        try:
            facts = client.run(machine_facts, names)
        except Exception as exc:  # noqa: BLE001 - a worker that cannot run repwatch's code, said in a line
            return [f"engine.address {engine.address}: the scheduler answers, {len(workers)} workers"], [
                f"the workers cannot run repwatch's code ({type(exc).__name__}: {' '.join(str(exc).split())[:160]}):"
                " install repwatch on every worker machine"]
    good = [f"engine.address {engine.address}: the scheduler answers, {len(workers)} workers"]
    bad = []
    for worker, theirs in sorted(facts.items()):
        differ = [f"{k} {theirs[k]} (here {here[k]})" for k in ("python", "dask", "distributed", "repwatch")
                  if theirs[k] != here[k]]
        if differ:
            bad.append(f"worker {worker}: " + ", ".join(differ))
        if theirs["missing"]:
            bad.append(f"worker {worker}: lacks the environment variables {', '.join(theirs['missing'])}")
    if not bad:
        good.append(f"every worker runs this machine's versions{' and has ' + ', '.join(names) if names else ''}")
    return good, bad + blocks
