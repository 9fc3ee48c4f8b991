"""Hacker News through Algolia's search API: stories and comments, newest first."""
from __future__ import annotations

import json
from datetime import datetime
from typing import ClassVar, Iterator

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, html_to_text, utc_from_epoch,
)
from scrapers.http import PoliteSession, RequestParams
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://hn.algolia.com/api/v1"
DEFAULT_ITEM_URL = "https://news.ycombinator.com/item?id="


def _decode(page: Page) -> JsonObject:
    try:
        data = json.loads(page.body)
    except ValueError as exc:
        raise ParseError(f"hackernews: {page.url} is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("hits"), list):
        raise ParseError(f"hackernews: {page.url} has no `hits` list; the API answer changed")
    return data


class HackerNewsScraper(Source):
    """Incremental on `created_at_i`; pages with `page`/`nbPages`.

    Algolia stops paging after 1000 hits; when more matched, the next window
    asks for what is older than the oldest hit seen, so a backfill is complete.
    """

    name: ClassVar[str] = "hackernews"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        item_url: str = DEFAULT_ITEM_URL,
        http: PoliteSession | None = None,
        hits_per_page: int = 100,
        tags: str = "(story,comment)",
        max_pages: int = 50,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.item_url = item_url
        self.http = http or PoliteSession()
        self.hits_per_page = hits_per_page
        self.tags = tags
        self.max_pages = max_pages

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        lower = int(since.timestamp()) if since else None
        upper: int | None = None
        fetched = 0
        while fetched < self.max_pages:
            page_no, oldest, data = 0, None, None
            while fetched < self.max_pages:
                filters = [f"created_at_i>{lower}"] * (lower is not None) + [f"created_at_i<={upper}"] * (upper is not None)
                params: RequestParams = {
                    "query": target,
                    "tags": self.tags,
                    "hitsPerPage": self.hits_per_page,
                    "page": page_no,
                }
                if filters:
                    params["numericFilters"] = ",".join(filters)
                page = self.http.get(f"{self.base_url}/search_by_date", params=params, meta={"page": page_no})
                yield page
                fetched += 1
                data = _decode(page)
                stamps = [h["created_at_i"] for h in data["hits"] if isinstance(h.get("created_at_i"), int)]
                if stamps:
                    oldest = min(stamps) if oldest is None else min(oldest, *stamps)
                page_no += 1
                if not data["hits"] or page_no >= int(data.get("nbPages", 0)):
                    break
            more = data is not None and int(data.get("nbHits", 0)) > page_no * self.hits_per_page
            if not (more and data["hits"] and oldest is not None) or (upper is not None and oldest >= upper):
                return
            upper = oldest  # inclusive: a hit sharing that second is not lost; the store de-duplicates

    def parse(self, page: Page) -> ParsedItems:
        hits = _decode(page)["hits"]
        if not isinstance(hits, list):
            raise ParseError(f"hackernews: {page.url} has no list of hits; the API answer changed")
        return read_items(page, hits, lambda hit: self._mention(hit, page))

    def _mention(self, hit: JsonObject, page: Page) -> Mention:
        object_id, created = hit.get("objectID"), hit.get("created_at_i")
        if object_id is None or created is None:
            raise ParseError(f"hackernews: a hit on {page.url} lacks objectID or created_at_i")
        tags = hit.get("_tags") or []
        if "comment" in tags or hit.get("comment_text") is not None:
            kind, title, text = "comment", hit.get("story_title"), html_to_text(hit.get("comment_text"))
        else:
            kind, title, text = "story", html_to_text(hit.get("title")), html_to_text(hit.get("story_text"))
        return Mention(
            source=self.name,
            external_id=str(object_id),
            published_at=utc_from_epoch(created),
            text=text,
            title=title or None,
            url=f"{self.item_url}{object_id}",
            author=hit.get("author"),
            kind=kind,
            raw={k: v for k, v in hit.items() if k != "_highlightResult"},
        )
