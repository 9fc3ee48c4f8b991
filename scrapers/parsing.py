"""The parse seam: a page read item by item, and every error of shape a ParseError naming the page.

Parsers check the shapes they know; this is the seam's guarantee for the
ones they do not: with thousands of targets some pages will be garbage.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from scrapers.base import Mention, Page, ParseError, Source

# What a parser raises when a value has another type than the one it reads (null, a list or an object
# where a string was, a string where a number was, a number too big to be a time): a changed site, not a
# network problem.
SHAPE_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError, OverflowError)


class ParsedItems(list):  # type: ignore[type-arg]
    """A page's mentions (a list of Mention), with what the parser left out: `skipped`, one line per item."""

    def __init__(self, mentions: Iterable[Mention] = (), skipped: Iterable[str] = ()) -> None:
        super().__init__(mentions)
        self.skipped: list[str] = list(skipped)


def read_items(page: Page, items: Iterable[Any], build: Callable[[Any], Mention]) -> ParsedItems:
    """Each item's Mention, one item at a time.

    An item the parser cannot read (a field of another type, no id, a date that
    is not one) is left out and said in `skipped`, so one bad item never costs
    the page's good ones, run after run. A page none of whose items can be
    read is a ParseError: a changed site, not a quiet day.
    """
    mentions, skipped = [], []
    for item in items:
        try:
            mentions.append(build(item))
        except ParseError as exc:
            skipped.append(str(exc) if page.url in str(exc) else f"{page.url}: {exc}")
        except SHAPE_ERRORS as exc:
            skipped.append(f"{page.url}: an item not of the shape this parser reads ({type(exc).__name__}: {exc})")
    if skipped and not mentions:
        more = f" (and {len(skipped) - 1} more items like it)" if len(skipped) > 1 else ""
        raise ParseError(skipped[0] + more)
    return ParsedItems(mentions, skipped)


def parse_page(scraper: Source, page: Page) -> ParsedItems:
    """The scraper's mentions of one page (and the items it left out); any error of shape is a ParseError
    naming the page, never a traceback."""
    try:
        result = scraper.parse(page)
        return result if isinstance(result, ParsedItems) else ParsedItems(result)
    except ParseError:
        raise
    except SHAPE_ERRORS as exc:
        raise ParseError(f"{page.url}: not the shape this parser reads ({type(exc).__name__}: {exc})") from None
