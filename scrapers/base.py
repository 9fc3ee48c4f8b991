"""The scraper seam: the Source contract, what a source yields (Page, Mention), and the parsing helpers.

A scraper fetches pages (IO) and parses them (pure). It knows nothing of the
store or of Prefect: the pipeline decides which brand a mention belongs to,
de-duplicates, and writes. `Source` is the contract a source keeps; how
sources are found by name is in scrapers.registry.
"""
from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterable, Iterator

__all__ = [
    "Mention",
    "Page",
    "ParseError",
    "Source",
    "JsonObject",
    "CursorState",
    "PageMeta",
    "html_to_text",
    "utc_from_epoch",
    "parse_iso_datetime",
    "merge_mentions",
    "stable_id",
    "passed_cursor",
]


# A JSON object as a site sent it: untrusted, each value's type checked where it is read.
JsonObject = dict[str, Any]
# What a source keeps in its cursor between runs (an ETag, a page token): its own keys, JSON-serialisable.
CursorState = dict[str, Any]
# What a fetcher knew when it asked for a page (page number, cursor...), kept with the page.
PageMeta = dict[str, Any]


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
    meta: PageMeta = field(default_factory=dict)

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    replied: bool | None = None  # for reviews: has the business answered? None: the source does not say
    language: str | None = None
    raw: JsonObject = field(default_factory=dict)
    reply_text: str | None = None  # the business's public answer, where the source shows it
    replied_at: datetime | None = None  # when it was posted, where the source says
    app_version: str | None = None  # the app version the review was written on (app stores)
    # The source gives no date: published_at is when a fetch first saw it (the store keeps that first date).
    date_estimated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.external_id, str) or not self.external_id:
            raise ParseError(f"{self.source}: mention without an id (id: {type(self.external_id).__name__})")
        for name, expected in _FIELD_TYPES.items():
            value = getattr(self, name)
            if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
                said = " or ".join("None" if t is type(None) else t.__name__ for t in expected)
                raise ParseError(f"{self.source}:{self.external_id}: `{name}` is {type(value).__name__} "
                                 f"({_short(value)}), not {said}")
        if self.published_at.tzinfo is None:
            raise ParseError(f"{self.source}:{self.external_id}: naive timestamp")
        if self.replied_at is not None and self.replied_at.tzinfo is None:
            raise ParseError(f"{self.source}:{self.external_id}: naive reply timestamp")
        if self.rating is not None and not 1 <= self.rating <= 5:
            raise ParseError(f"{self.source}:{self.external_id}: rating {self.rating} is not between 1 and 5")

    @property
    def full_text(self) -> str:
        """Title and body together: what sentiment and themes read."""
        if self.title and self.title not in self.text:
            return f"{self.title}. {self.text}" if self.text else self.title
        return self.text


_NONE = type(None)
# Each field's types, checked when a Mention is made: a value of another type is a ParseError naming the
# field and the item, at the parse seam, not an ArrowTypeError in the store naming nothing.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "source": (str,), "published_at": (datetime,), "text": (str,), "url": (str, _NONE), "title": (str, _NONE),
    "author": (str, _NONE), "kind": (str,), "rating": (int, float, _NONE), "replied": (bool, _NONE),
    "language": (str, _NONE), "raw": (dict,), "reply_text": (str, _NONE), "replied_at": (datetime, _NONE),
    "app_version": (str, _NONE), "date_estimated": (bool,),
}


class Source:
    """The contract a source keeps. A plugin subclasses it (or defines the same names) and registers the class
    under the `repwatch.sources` entry point group; README's "Write a source" says how.

    Required: `name` (the entry point's name), `pages` (IO) and `parse` (pure).
    Optional, with the defaults below: `default_base_url`, `required_credentials`
    or `credentials_for`, `check_target`, `aggregate`. The constructor takes
    the config's `options` as keywords, plus `http` (a PoliteSession),
    `base_url` when the config sets one, and `credentials` when it needs any.
    """

    name: ClassVar[str]
    # Where it fetches unless the config says `base_url`; None for sources whose targets are URLs.
    default_base_url: ClassVar[str | None] = None
    # The secrets it needs, read by flows/credentials.py and handed in as `credentials=`.
    required_credentials: ClassVar[tuple[str, ...]] = ()

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        """IO: fetch the target's pages, newest first, stopping at `since`; `state` is the cursor's, to update."""
        raise NotImplementedError

    def parse(self, page: Page) -> Iterable[Mention]:
        """Pure: the mentions on one page; ParseError on a page it does not know."""
        raise NotImplementedError

    @staticmethod
    def check_target(target: str) -> Any:
        """ValueError on a target the source cannot use: `repwatch check` calls it, so a typo fails before a run."""
        return target

    @classmethod
    def credentials_for(cls, targets: Iterable[str]) -> tuple[str, ...]:
        """The secrets these targets need (for sources whose needs vary by target)."""
        return cls.required_credentials

    def aggregate(self, page: Page) -> JsonObject | None:
        """The overall rating the page states ({"rating", "count", ...}), for sources whose pages say it."""
        return None


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
    """Seconds since 1970 as aware UTC; ParseError for what is not a time (a string of letters, 10^20)."""
    try:
        return datetime.fromtimestamp(float(seconds), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ParseError(f"{_short(seconds)} is not a time in seconds since 1970") from None


def parse_iso_datetime(value: Any, what: str) -> datetime:
    """An ISO 8601 timestamp ('Z', an offset, or none: UTC; a bare date: midnight UTC) as aware UTC.

    `what` names the field for the ParseError a malformed value raises.
    """
    if not isinstance(value, str) or not value.strip():
        raise ParseError(f"{what}: no timestamp ({value!r})")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ParseError(f"{what}: {value!r} is not an ISO 8601 timestamp") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def stable_id(*parts: Any) -> str:
    """An id from content, for reviews the page gives none: the same review gives the same id on every fetch."""
    joined = "\x1f".join(" ".join(str(p or "").split()).lower() for p in parts)
    return "h:" + hashlib.sha1(joined.encode("utf-8")).hexdigest()[:20]


def passed_cursor(mentions: Iterable[Mention], since: datetime | None) -> bool:
    """Whether a page (newest first) reaches back past the cursor: then there is no need for an older page.

    Dates a source did not give (estimated at first sight) say nothing about how far back a page goes.
    """
    return since is not None and any(m.published_at < since for m in mentions if not m.date_estimated)


def merge_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    """One Mention per (source, external_id), in first-seen order.

    A source may show one review on two pages (the App Store's feed has the app
    version, its reviews endpoint the reply and the date): the first sighting
    wins and later ones fill in only what it lacks, so pages should come most
    authoritative first.
    """
    merged: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        key = (m.source, m.external_id)
        first = merged.get(key)
        if first is None:
            merged[key] = m
            continue
        missing = {
            f.name: getattr(m, f.name)
            for f in fields(Mention)
            if getattr(first, f.name) in (None, "", {}) and getattr(m, f.name) not in (None, "", {})
        }
        raw = {**m.raw, **first.raw} if m.raw and first.raw else None
        if raw is not None:
            missing["raw"] = raw
        if missing:
            merged[key] = replace(first, **missing)
    return list(merged.values())
