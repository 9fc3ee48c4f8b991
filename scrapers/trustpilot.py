"""Trustpilot: a company's public review pages, read from their `__NEXT_DATA__` JSON.

A target is the company's domain as Trustpilot names it (`example.com`).
The same reviews also stand in the HTML cards and a JSON-LD graph, plus
teaser cards repeating other reviews; only `pageProps.reviews` is read, so
nothing is counted twice.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar, Iterator
from urllib.parse import quote

from bs4 import BeautifulSoup

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, parse_iso_datetime, passed_cursor,
)
from scrapers.http import PoliteSession, RequestParams
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://www.trustpilot.com"
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*\.[A-Za-z]{2,}$")


@lru_cache(maxsize=4)
def _page_props(body: bytes, url: str) -> JsonObject:
    # Cached: the pager and the parser read the same page.
    script = BeautifulSoup(body, "html.parser").find("script", id="__NEXT_DATA__")
    if script is None or not script.string:
        raise ParseError(f"trustpilot: {url} has no __NEXT_DATA__ script; the page changed (or is a block page)")
    try:
        props = json.loads(script.string)["props"]["pageProps"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ParseError(f"trustpilot: __NEXT_DATA__ on {url} has no props.pageProps ({exc})") from None
    if not isinstance(props.get("reviews"), list):
        raise ParseError(f"trustpilot: {url} has no pageProps.reviews list; the page changed")
    return props


def _pagination(props: JsonObject) -> tuple[int, int]:
    pagination = ((props.get("filters") or {}).get("pagination") or {})
    return int(pagination.get("currentPage") or 1), int(pagination.get("totalPages") or 1)


def _drop_cut_title(title: str | None, text: str) -> str | None:
    """Titles in the JSON are cut with an ellipsis when they open the text; such a title adds nothing."""
    if not title:
        return None
    stem = title.rstrip("…").rstrip(".").strip()
    return None if title.endswith("…") and text.startswith(stem) else title


class TrustpilotScraper(Source):
    """Newest first (`sort=recency`), page by page until older than the cursor."""

    name: ClassVar[str] = "trustpilot"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        http: PoliteSession | None = None,
        languages: str = "all",
        max_pages: int = 50,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or PoliteSession()
        self.languages = languages
        self.max_pages = max_pages

    @staticmethod
    def check_target(target: str) -> str:
        domain = target.strip().lower()
        if not _DOMAIN.match(domain):
            raise ValueError(f"trustpilot target {target!r} is not a domain such as example.com")
        return domain

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        domain = self.check_target(target)
        for number in range(1, self.max_pages + 1):
            params: RequestParams = {"sort": "recency", "languages": self.languages}
            if number > 1:
                params["page"] = number
            page = self.http.get(f"{self.base_url}/review/{quote(domain)}", params=params, html_page=True,
                                 meta={"page": number})
            yield page
            props = _page_props(page.body, page.url)
            current, total = _pagination(props)
            mentions = list(self.parse(page))
            if not mentions or current >= total or passed_cursor(mentions, since):
                return

    def parse(self, page: Page) -> ParsedItems:
        props = _page_props(page.body, page.url)
        return read_items(page, props["reviews"], lambda review: self._mention(review, page))

    def aggregate(self, page: Page) -> JsonObject | None:
        """The company's TrustScore and review count, as the page states them."""
        unit = _page_props(page.body, page.url).get("businessUnit") or {}
        if unit.get("trustScore") is None:
            return None
        return {"rating": float(unit["trustScore"]), "count": unit.get("numberOfReviews"), "best": 5,
                "name": unit.get("displayName")}

    def _mention(self, review: Any, page: Page) -> Mention:
        if not isinstance(review, dict) or not review.get("id") or review.get("rating") is None:
            raise ParseError(f"trustpilot: a review on {page.url} lacks `id` or `rating`")
        review_id = str(review["id"])
        dates = review.get("dates") or {}
        reply = review.get("reply")
        if reply is not None and not isinstance(reply, dict):
            raise ParseError(f"trustpilot: review {review_id} has a reply of type {type(reply).__name__}")
        text = str(review.get("text") or "")
        consumer = review.get("consumer") or {}
        return Mention(
            source=self.name,
            external_id=review_id,
            published_at=parse_iso_datetime(dates.get("publishedDate"), f"trustpilot: review {review_id} publishedDate"),
            text=text,
            title=_drop_cut_title(review.get("title"), text),
            url=f"{self.base_url}/reviews/{quote(review_id)}",
            author=consumer.get("displayName"),
            kind="review",
            rating=float(review["rating"]),
            replied=reply is not None,
            reply_text=(reply or {}).get("message") or None,
            replied_at=(parse_iso_datetime(reply["publishedDate"], f"trustpilot: reply to {review_id}")
                        if reply and reply.get("publishedDate") else None),
            language=review.get("language"),
            raw={
                "id": review_id, "title": review.get("title"), "text": text, "rating": review.get("rating"),
                "language": review.get("language"), "dates": dates, "reply": reply,
                "consumer": {"displayName": consumer.get("displayName"), "countryCode": consumer.get("countryCode")},
                "verification": ((review.get("labels") or {}).get("verification") or {}).get("verificationLevel"),
            },
        )
