"""How sources are found by name: the `repwatch.sources` entry points (the built-in sources' too, so an installed
package adds a source), each loaded class checked against the Source contract."""
from __future__ import annotations

import sys
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from scrapers.base import Source

REQUIRED_HOOKS = ("pages", "parse")


def as_source(cls: Any, name: str, where: str) -> type[Source]:
    """The loaded class as a Source, refused with a message naming what it lacks.

    A class that does not subclass Source but defines the required hooks gets
    the optional hooks' defaults through a subclass made here.
    """
    if not isinstance(cls, type):
        raise TypeError(f"source {name!r} ({where}) is not a class but {type(cls).__name__}")
    if getattr(cls, "name", None) != name:
        raise TypeError(f"source {name!r} ({where}) has name {getattr(cls, 'name', None)!r}; "
                        "the entry point's name and the class's `name` must agree")
    missing = [hook for hook in REQUIRED_HOOKS
               if not callable(getattr(cls, hook, None)) or getattr(cls, hook) is getattr(Source, hook)]
    if missing:
        raise TypeError(f"source {name!r} ({where}) lacks the required hook(s) {', '.join(missing)}: a source "
                        "defines pages(target, since, state) and parse(page) (README: Write a source)")
    return cls if issubclass(cls, Source) else _with_defaults(cls)


@lru_cache(maxsize=None)
def _with_defaults(cls: type) -> type[Source]:
    """A plugin class with Source's optional hooks as defaults: made once per class (a run looks a source up
    for every target), so every lookup returns the same class."""
    return type(cls.__name__, (cls, Source), {"__module__": cls.__module__, "__doc__": cls.__doc__})


ENTRY_POINT_GROUP = "repwatch.sources"


_read: tuple[tuple[str, ...], dict[str, EntryPoint]] | None = None


def _entry_points(fresh: bool = False) -> dict[str, EntryPoint]:
    """The `repwatch.sources` entry points, read again when asked or when the import path has changed.

    Reading them scans every installed distribution (13 ms here): once per job
    it took minutes of a 4,000-target plan. A name not found is read again
    (`scraper_class`), so a package installed since start-up is still found
    without a restart.
    """
    global _read
    path = tuple(sys.path)
    if fresh or _read is None or _read[0] != path:
        _read = (path, {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)})
    return _read[1]


def scraper_class(name: str) -> type[Source]:
    """The scraper registered under `name` in the `repwatch.sources` entry points (built-in sources included)."""
    found = _entry_points()
    if name not in found:
        found = _entry_points(fresh=True)
    if name not in found:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(found))}")
    try:
        cls = found[name].load()
    except Exception as exc:  # a broken plugin names itself, and the others still work
        raise ImportError(f"source {name!r} ({found[name].value}) could not be loaded: {type(exc).__name__}: {exc}") from None
    return as_source(cls, name, found[name].value)


def get_scraper(name: str, **options: Any) -> Source:
    return scraper_class(name)(**options)


def is_source(name: str) -> bool:
    """True if a source is registered under `name` (read again before saying no)."""
    return name in _entry_points() or name in _entry_points(fresh=True)


def scraper_names() -> list[str]:
    return sorted(_entry_points(fresh=True))


