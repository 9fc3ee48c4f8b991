"""The scraper seam: what a source yields, and how sources are found by name.

A scraper fetches pages (IO) and parses them (pure). It knows nothing of the
store or of Prefect: the pipeline decides which brand a mention belongs to,
de-duplicates, and writes.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, ClassVar, Iterable, Iterator, Protocol

__all__ = [
    "Mention",
    "Page",
    "ParseError",
    "Scraper",
    "register",
    "get_scraper",
    "scraper_class",
    "scraper_names",
    "html_to_text",
    "utc_from_epoch",
]


class ParseError(ValueError):
    """A page whose structure the parser does not recognise.

    Raised instead of yielding nothing, so that a changed site shows up as a
    broken source, never as a quiet day.
    """


@dataclass(frozen=True)
class Page:
    """One fetched response, kept raw so parsing can be retried without IO."""

    url: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    # What the fetcher knew when it asked (page number, cursor...): parsers may
    # need it to interpret the body, and it lands in the health record.
    meta: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Mention:
    """A review or a social mention, as the source said it.

    `external_id` is the source's own id, stable across fetches: with the
    source and the brand it is the key of the store.
    """

    source: str
    external_id: str
    published_at: datetime  # timezone-aware, UTC
    text: str
    url: str | None = None
    title: str | None = None
    author: str | None = None
    kind: str = "mention"  # story, comment, review, article, post...
    rating: float | None = None  # stars, 1..5, for reviews
    replied: bool | None = None  # for reviews: has the business answered?
    language: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.external_id:
            raise ParseError(f"{self.source}: mention without an id")
        if self.published_at.tzinfo is None:
            raise ParseError(f"{self.source}:{self.external_id}: naive timestamp")

    @property
    def full_text(self) -> str:
        """Title and body together: what sentiment and themes read."""
        if self.title and self.title not in self.text:
            return f"{self.title}. {self.text}" if self.text else self.title
        return self.text


class Scraper(Protocol):
    name: ClassVar[str]

    def pages(self, target: str, since: datetime | None, state: dict[str, Any]) -> Iterator[Page]:
        """IO: fetch the target's pages, newest first, stopping at `since`."""
        ...

    def parse(self, page: Page) -> Iterable[Mention]:
        """Pure: the mentions on one page; ParseError on a page it does not know."""
        ...


_REGISTRY: dict[str, Callable[..., Scraper]] = {}


def register(cls: type) -> type:
    """Class decorator: make a scraper available by its `name`."""
    name = getattr(cls, "name", None)
    if not name:
        raise TypeError(f"{cls.__name__} has no `name`")
    _REGISTRY[name] = cls
    return cls


def scraper_class(name: str) -> Callable[..., Scraper]:
    _load_builtin_sources()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def get_scraper(name: str, **options: Any) -> Scraper:
    return scraper_class(name)(**options)


def scraper_names() -> list[str]:
    _load_builtin_sources()
    return sorted(_REGISTRY)


def _load_builtin_sources() -> None:
    # Imported lazily so that base.py has no import cycle with the sources.
    from scrapers import feeds, hackernews  # noqa: F401


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(p|br|div|li|/p|/div|/li)\b[^>]*>", re.I)
_SPACE = re.compile(r"[ \t\r\f\v]+")


def html_to_text(fragment: str | None) -> str:
    """Plain text from an HTML fragment (paragraphs kept as newlines)."""
    if not fragment:
        return ""
    text = _BLOCK.sub("\n", fragment)
    text = html.unescape(_TAG.sub("", text)).replace("\xa0", " ")
    lines = (_SPACE.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def utc_from_epoch(seconds: float | int | str) -> datetime:
    return datetime.fromtimestamp(float(seconds), tz=timezone.utc)
