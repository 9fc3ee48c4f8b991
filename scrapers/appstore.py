"""Apple App Store reviews: the customer-reviews feed (JSON) and, for developer replies, userReviewsRow.

A target is `<app id>@<country>` (`1234567890@us`); list one target per country.
Apple's feed carries the app version but no developer replies (and old
captures no dates); the iTunes `userReviewsRow` endpoint carries dates and
replies but no version. Both are read, replies first: the pipeline merges
the two sightings of a review, the first one winning (see merge_mentions).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, parse_iso_datetime, passed_cursor,
)
from scrapers.http import PoliteSession
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://itunes.apple.com"
# userReviewsRow answers JSON only to clients that look like iTunes; others get an HTML page.
ITUNES_USER_AGENT = "iTunes/12.12 (Macintosh; OS X 12.6) AppleWebKit/7614.1.25.9.3"
FEED_PAGES_MAX = 10  # Apple serves at most ten feed pages (about 500 reviews) per country
_TARGET = re.compile(r"^(?P<app>\d{3,15})@(?P<country>[A-Za-z]{2})$")


def parse_target(target: str) -> tuple[str, str]:
    match = _TARGET.match(target.strip())
    if not match:
        raise ValueError(f"appstore target {target!r} is not '<numeric app id>@<two-letter country>' (e.g. 284882215@us)")
    return match["app"], match["country"].lower()


def _label(entry: JsonObject, key: str) -> Any:
    value = entry.get(key)
    return value.get("label") if isinstance(value, dict) else None


def _feed_entries(page: Page) -> list[JsonObject]:
    """The feed's entries: none when the key is missing (an empty page), one when Apple sends an object."""
    try:
        data = json.loads(page.body)
    except ValueError as exc:
        raise ParseError(f"appstore: {page.url} is not JSON ({exc})") from None
    feed = data.get("feed") if isinstance(data, dict) else None
    if not isinstance(feed, dict):
        raise ParseError(f"appstore: {page.url} has no `feed` object; the feed changed")
    entries = feed.get("entry", [])
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ParseError(f"appstore: `feed.entry` on {page.url} is a {type(entries).__name__}")
    # The first entry of older feeds described the app itself, not a review.
    return [e for e in entries if isinstance(e, dict) and "im:rating" in e]


def _has_next(page: Page) -> bool:
    feed = json.loads(page.body).get("feed", {})
    links = feed.get("link", [])
    links = [links] if isinstance(links, dict) else links
    return any(isinstance(l, dict) and (l.get("attributes") or {}).get("rel") == "next" for l in links)


def _review_rows(page: Page) -> list[JsonObject]:
    try:
        data = json.loads(page.body)
    except ValueError:
        raise ParseError(f"appstore: {page.url} answered HTML, not userReviewsRow JSON "
                         "(Apple serves JSON to iTunes-like clients only)") from None
    rows = data.get("userReviewList") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ParseError(f"appstore: {page.url} has no `userReviewList`; the endpoint changed")
    return rows


class AppStoreScraper(Source):
    """Newest first; stops at the cursor or where Apple stops serving."""

    name: ClassVar[str] = "appstore"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        http: PoliteSession | None = None,
        replies: bool = True,
        reviews_per_request: int = 100,
        max_reply_pages: int = 10,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or PoliteSession()
        self.replies = replies
        self.reviews_per_request = reviews_per_request
        self.max_reply_pages = max_reply_pages

    @staticmethod
    def check_target(target: str) -> None:
        parse_target(target)

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        app, country = parse_target(target)
        if self.replies:
            yield from self._reply_pages(app, country, since)
        for number in range(1, FEED_PAGES_MAX + 1):
            url = f"{self.base_url}/{country}/rss/customerreviews/page={number}/id={app}/sortby=mostrecent/json"
            page = self.http.get(url, meta={"kind": "feed", "app": app, "country": country, "page": number,
                                            "fetched_at": datetime.now(timezone.utc).isoformat()})
            yield page
            mentions = list(self.parse(page))
            if not mentions or not _has_next(page) or passed_cursor(mentions, since):
                return

    def _reply_pages(self, app: str, country: str, since: datetime | None) -> Iterator[Page]:
        step = self.reviews_per_request
        for number in range(self.max_reply_pages):
            start = number * step
            page = self.http.get(
                f"{self.base_url}/WebObjects/MZStore.woa/wa/userReviewsRow",
                params={"id": app, "displayable-kind": 11, "startIndex": start, "endIndex": start + step,
                        "sort": 0, "cc": country},
                headers={"User-Agent": ITUNES_USER_AGENT},
                meta={"kind": "replies", "app": app, "country": country, "page": number},
            )
            yield page
            mentions = list(self.parse(page))  # one per row; a row it cannot read raises
            if len(mentions) < step or passed_cursor(mentions, since):
                return

    def parse(self, page: Page) -> ParsedItems:
        if page.meta.get("kind") == "replies":
            return read_items(page, _review_rows(page), lambda row: self._from_review_row(row, page))
        return read_items(page, _feed_entries(page), lambda entry: self._from_feed_entry(entry, page))

    def _review_url(self, page: Page, review_id: str) -> str:
        app, country = page.meta.get("app"), page.meta.get("country", "us")
        return f"https://apps.apple.com/{country}/app/id{app}?see-all=reviews#review-{review_id}"

    def _from_feed_entry(self, entry: JsonObject, page: Page) -> Mention:
        review_id = _label(entry, "id")
        rating = _label(entry, "im:rating")
        if not review_id or rating is None:
            raise ParseError(f"appstore: an entry on {page.url} lacks `id` or `im:rating`")
        updated = _label(entry, "updated")
        raw = {k: entry.get(k) for k in ("id", "title", "content", "im:rating", "im:version", "updated", "author")}
        estimated = False
        if updated:
            published = parse_iso_datetime(updated, f"appstore: entry {review_id} `updated`")
        else:
            # Older feeds carry no date: the review is dated when we first saw it
            # (the store keeps that first date on every later fetch).
            fetched = page.meta.get("fetched_at")
            published = datetime.fromisoformat(fetched) if fetched else datetime.now(timezone.utc)
            estimated = True
        author = entry.get("author") or {}
        content = entry.get("content")
        text = content.get("label") if isinstance(content, dict) else content
        try:
            stars = float(rating)
        except (TypeError, ValueError):
            raise ParseError(f"appstore: entry {review_id} has rating {rating!r}") from None
        return Mention(
            source=self.name, external_id=str(review_id), published_at=published, text=str(text or ""),
            title=_label(entry, "title") or None, url=self._review_url(page, str(review_id)),
            author=_label(author, "name") if isinstance(author, dict) else None, kind="review", rating=stars,
            app_version=_label(entry, "im:version") or None, raw=raw, date_estimated=estimated,
        )

    def _from_review_row(self, row: JsonObject, page: Page) -> Mention:
        review_id = row.get("userReviewId")
        if not review_id or row.get("rating") is None or not row.get("date"):
            raise ParseError(f"appstore: a userReviewsRow review on {page.url} lacks userReviewId, rating or date")
        response = row.get("developerResponse")
        if response is not None and not isinstance(response, dict):
            raise ParseError(f"appstore: review {review_id} has a developerResponse of type {type(response).__name__}")
        replied_at = None
        if response and (response.get("modified") or response.get("date")):
            replied_at = parse_iso_datetime(response.get("modified") or response.get("date"),
                                            f"appstore: reply to {review_id}")
        return Mention(
            source=self.name, external_id=str(review_id),
            published_at=parse_iso_datetime(row["date"], f"appstore: review {review_id} `date`"),
            text=str(row.get("body") or ""), title=row.get("title") or None,
            url=self._review_url(page, str(review_id)), author=row.get("name"), kind="review",
            rating=float(row["rating"]), replied=bool(response and response.get("body")),
            reply_text=(response or {}).get("body") or None, replied_at=replied_at,
            # Only what a review is; profile links are personal data we do not need.
            raw={k: row.get(k) for k in ("userReviewId", "title", "body", "rating", "date", "isEdited",
                                          "voteCount", "voteSum", "developerResponse")},
        )
