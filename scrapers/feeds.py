"""Any RSS or Atom feed: Google Alerts, Google News search, blogs, status pages."""
from __future__ import annotations

import calendar
import hashlib
from datetime import datetime, timezone
from typing import Any, ClassVar, Iterator
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser

from scrapers.base import CursorState, Mention, Page, ParseError, Source, html_to_text
from scrapers.http import PoliteSession
from scrapers.parsing import ParsedItems, read_items


def unwrap_redirect(link: str) -> str:
    """The real article behind a google.com/url?...&url= redirect (Google Alerts)."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if parts.path == "/url" and (host == "google.com" or host.endswith(".google.com")):
        query = parse_qs(parts.query)
        for key in ("url", "q"):
            target = query.get(key, [""])[0]
            if target.startswith(("http://", "https://")):
                return target
    return link


def _published(entry: Any) -> datetime | None:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    # feedparser normalises every date format to a UTC struct_time.
    return datetime.fromtimestamp(calendar.timegm(stamp), tz=timezone.utc) if stamp else None


class FeedScraper(Source):
    """One request per feed, conditional on the ETag / Last-Modified seen last time."""

    name: ClassVar[str] = "feed"

    def __init__(self, base_url: str | None = None, http: PoliteSession | None = None) -> None:
        self.base_url = base_url
        self.http = http or PoliteSession()

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        url = urljoin(self.base_url, target) if self.base_url else target
        headers = {}
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
        page = self.http.get(url, headers=headers)
        # Kept in the cursor state, which is saved only with the page's rows.
        if page.headers.get("etag"):
            state["etag"] = page.headers["etag"]
        if page.headers.get("last-modified"):
            state["last_modified"] = page.headers["last-modified"]
        yield page

    def parse(self, page: Page) -> ParsedItems:
        if page.status == 304:
            return ParsedItems()
        parsed = feedparser.parse(
            page.body, response_headers={"content-location": page.url, "content-type": page.headers.get("content-type", "")}
        )
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
            raise ParseError(f"feed: {page.url} is not a feed ({reason})")
        language = parsed.feed.get("language")
        return read_items(page, parsed.entries, lambda entry: self._mention(entry, page, language))

    def _mention(self, entry: Any, page: Page, language: str | None) -> Mention:
        link = unwrap_redirect(entry.get("link") or "")
        title = html_to_text(entry.get("title"))
        publisher = (entry.get("source") or {}).get("title")
        if publisher and title.endswith(f" - {publisher}"):
            title = title[: -len(publisher) - 3]  # Google News: "Headline - Publisher"
        external_id = entry.get("id") or link or hashlib.sha1(f"{title}|{entry.get('published', '')}".encode()).hexdigest()
        published = _published(entry)
        if published is None:
            raise ParseError(f"feed: entry {external_id!r} on {page.url} has no date")
        return Mention(
            source=self.name,
            external_id=external_id,
            published_at=published,
            text=html_to_text(entry.get("summary")),
            title=title or None,
            url=link if link.startswith(("http://", "https://")) else None,
            author=publisher or (entry.get("author") or None),
            kind="article",
            language=language,
            raw={
                "id": entry.get("id"),
                "title": entry.get("title"),
                "link": entry.get("link"),
                "published": entry.get("published") or entry.get("updated"),
                "summary": entry.get("summary"),
                "source": publisher,
                "feed": page.url,
            },
        )
