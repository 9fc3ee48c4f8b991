"""Product and business pages carrying schema.org Review / AggregateRating markup (JSON-LD, microdata, RDFa).

A target is a page URL (relative to `base_url` when one is set). Extraction
is extruct's, in its uniform shape, so the three syntaxes read alike.
Schema.org has no field for a business's answer; a shop that shows one marks
it as a `comment` on the review written by an Organization (or by a name
listed in `reply_authors`). Where a page uses that convention, its reviews
without such a comment are unanswered; where it does not, we do not know.
"""
from __future__ import annotations

import html
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, ClassVar, Iterator
from urllib.parse import urljoin

import extruct

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, html_to_text, parse_iso_datetime, stable_id,
)
from scrapers.http import PoliteSession
from scrapers.parsing import ParsedItems, read_items

SYNTAXES = ("json-ld", "microdata", "rdfa")


def _type_names(node: JsonObject) -> set[str]:
    types = node.get("@type") or []
    types = [types] if isinstance(types, str) else types
    # Some pages write full IRIs (http://schema.org/Review) where most write names.
    return {_local_name(str(t)) for t in types}


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _text(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name")
    return html_to_text(html.unescape(str(value))) if value not in (None, "") else None


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return _text(value.get("name"))
    return _text(value)


def _number(value: Any) -> float | None:
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value")
    try:
        return float(str(value).replace(",", ".")) if value not in (None, "") else None
    except ValueError:
        return None


@lru_cache(maxsize=4)
def _extract(body: bytes, url: str) -> dict[str, list[Any]]:
    # Cached: parse and aggregate read the same page.
    try:
        return extruct.extract(body, base_url=url, syntaxes=list(SYNTAXES), uniform=True, errors="strict")
    except Exception as exc:  # extruct surfaces lxml's and rdflib's own errors
        raise ParseError(f"schemaorg: {url} could not be read as HTML with metadata ({type(exc).__name__}: {exc})") from None


def _local_name(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def nest_rdfa(nodes: list[JsonObject]) -> list[JsonObject]:
    """extruct's RDFa is flat (expanded JSON-LD, objects linked by blank-node ids): nest it like the other syntaxes.

    Keys become schema.org names, literals plain values, and each linked node is
    put in place of its reference; only nodes nothing links to stay at the top.
    """
    by_id = {n["@id"]: n for n in nodes if isinstance(n, dict) and "@id" in n}
    linked = {v["@id"] for n in by_id.values() for values in n.values() if isinstance(values, list)
              for v in values if isinstance(v, dict) and set(v) == {"@id"}}

    def nest(node: JsonObject, seen: frozenset[str]) -> JsonObject:
        out: JsonObject = {"@type": [_local_name(t) for t in node.get("@type", [])]}
        if not str(node.get("@id", "")).startswith("_:"):
            out["@id"] = node.get("@id")
        for key, values in node.items():
            if key.startswith("@") or not isinstance(values, list):
                continue
            nested = []
            for v in values:
                if isinstance(v, dict) and set(v) == {"@id"} and v["@id"] in by_id and v["@id"] not in seen:
                    nested.append(nest(by_id[v["@id"]], seen | {v["@id"]}))
                elif isinstance(v, dict) and "@value" in v:
                    nested.append(v["@value"])
                else:
                    nested.append(v.get("@id") if isinstance(v, dict) else v)
            out[_local_name(key)] = nested[0] if len(nested) == 1 else nested
        return out

    return [nest(n, frozenset({i})) for i, n in by_id.items() if i not in linked and n.get("@type")]


def _walk(node: Any, parent: JsonObject | None = None) -> Iterator[tuple[JsonObject, JsonObject | None]]:
    """Every (object, the object it hangs from), depth first."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, parent)
    elif isinstance(node, dict):
        yield node, parent
        for key, value in node.items():
            if key != "@context":
                yield from _walk(value, node)


def _stars(rating: Any) -> float | None:
    """A rating on its own scale (bestRating/worstRating, default 5 and 1) brought onto 1..5."""
    rating = _first(rating)
    if not isinstance(rating, dict):
        return _number(rating)
    value = _number(rating.get("ratingValue"))
    if value is None:
        return None
    best, worst = _number(rating.get("bestRating")) or 5.0, _number(rating.get("worstRating"))
    worst = 1.0 if worst is None else worst
    if best == 5.0 and worst == 1.0:
        return value
    if best <= worst:
        return None
    return round(1 + 4 * (value - worst) / (best - worst), 2)


class SchemaOrgScraper(Source):
    """One request per page, conditional on its ETag; every review the markup holds."""

    name: ClassVar[str] = "schemaorg"

    def __init__(self, base_url: str | None = None, http: PoliteSession | None = None,
                 reply_authors: list[str] | None = None) -> None:
        self.base_url = base_url
        self.http = http or PoliteSession()
        self.reply_authors = {a.strip().lower() for a in reply_authors or []}

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        url = urljoin(self.base_url, target) if self.base_url else target
        headers = {"If-None-Match": state["etag"]} if state.get("etag") else {}
        page = self.http.get(url, headers=headers, html_page=True,
                             meta={"fetched_at": datetime.now(timezone.utc).isoformat()})
        if page.headers.get("etag"):
            state["etag"] = page.headers["etag"]
        yield page

    def _items(self, page: Page) -> list[tuple[JsonObject, JsonObject | None]]:
        data = _extract(page.body, page.url)
        trees = {**data, "rdfa": nest_rdfa(data.get("rdfa") or [])}
        return [pair for syntax in SYNTAXES for pair in _walk(trees.get(syntax) or [])]

    def parse(self, page: Page) -> ParsedItems:
        if page.status == 304:
            return ParsedItems()
        items = self._items(page)
        reviews = [(node, parent) for node, parent in items if "Review" in _type_names(node)]
        rated = [node for node, _ in items if "AggregateRating" in _type_names(node) or node.get("aggregateRating")]
        if not reviews and not rated:
            raise ParseError(f"schemaorg: {page.url} has no schema.org Review or AggregateRating markup")
        replies = [self._reply(node) for node, _ in reviews]
        uses_replies = any(r is not None for r in replies)
        return read_items(page, zip(reviews, replies),
                          lambda item: self._mention(item[0][0], item[0][1], item[1], uses_replies, page))

    def aggregate(self, page: Page) -> JsonObject | None:
        """The page's own AggregateRating: value on 1..5, count, and what it rates."""
        if page.status == 304:
            return None
        for node, parent in self._items(page):
            owner, rating = node, node.get("aggregateRating")
            if "AggregateRating" in _type_names(node):
                owner, rating = parent or {}, node
            rating = _first(rating)
            if isinstance(rating, dict) and _stars(rating) is not None:
                count = _number(rating.get("reviewCount")) or _number(rating.get("ratingCount"))
                return {"rating": _stars(rating), "count": int(count) if count is not None else None, "best": 5,
                        "name": _name(owner.get("name"))}
        return None

    def _reply(self, review: JsonObject) -> JsonObject | None:
        comments = review.get("comment") or []
        for comment in comments if isinstance(comments, list) else [comments]:
            if not isinstance(comment, dict):
                continue
            author = _first(comment.get("author"))
            by_business = isinstance(author, dict) and "Organization" in _type_names(author)
            if by_business or (_name(author) or "").lower() in self.reply_authors:
                return comment
        return None

    def _mention(self, review: JsonObject, parent: JsonObject | None, reply: JsonObject | None,
                 uses_replies: bool, page: Page) -> Mention:
        text = _text(review.get("reviewBody")) or _text(review.get("description")) or ""
        author = _name(review.get("author"))
        date = _text(review.get("datePublished")) or _text(review.get("dateCreated"))
        raw = {"review": {k: v for k, v in review.items() if k != "@context"}, "page": page.url,
               "item": _name((parent or {}).get("name"))}
        estimated = False
        if date:
            published = parse_iso_datetime(date, f"schemaorg: a review on {page.url}")
        else:
            # No date in the markup: dated when first seen (the store keeps that first date).
            published = datetime.fromisoformat(page.meta.get("fetched_at") or datetime.now(timezone.utc).isoformat())
            estimated = True
        review_id = _text(review.get("@id")) or _text(review.get("identifier")) or _text(review.get("url"))
        if not review_id or review_id.startswith("_:"):  # a blank node is no id
            review_id = stable_id(page.url, author, date, text[:500])
        reply_date = _text(reply.get("dateCreated") or reply.get("datePublished")) if reply else None
        return Mention(
            source=self.name,
            external_id=review_id,
            published_at=published,
            text=text,
            title=_text(review.get("name")) or _text(review.get("headline")),
            url=_text(review.get("url")) or page.url,
            author=author,
            kind="review",
            rating=_stars(review.get("reviewRating")),
            replied=(reply is not None) if uses_replies else None,
            reply_text=_text(reply.get("text")) if reply else None,
            replied_at=parse_iso_datetime(reply_date, f"schemaorg: a reply on {page.url}") if reply_date else None,
            language=_text(review.get("inLanguage")),
            raw=raw,
            date_estimated=estimated,
        )
