"""Mastodon: a hashtag's public timeline (no token) or a full-text search (a token), newest first.

A target is `#tag` (the tag timeline, paged by the Link header) or a query
(`/api/v2/search` for statuses, paged by `max_id`; it needs MASTODON_ACCESS_TOKEN,
a token of an account on that instance with the read:search scope). The
instance is the base URL (`https://mastodon.social`).
A thin client on the polite session rather than Mastodon.py: that library
paces and retries by its own rules and hides the raw payload, where every
source here follows one set (the polite session's) and keeps what the site sent.
Boosts are read as the status they boost, keyed by its global `uri`, so a
post boosted ten times is one mention.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import ClassVar, Iterable, Iterator
from urllib.parse import quote

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, html_to_text, parse_iso_datetime,
    passed_cursor,
)
from scrapers.http import PoliteSession
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://mastodon.social"
# #tag, or #tag@instance.host for a tag on an instance other than the block's base_url.
_TAG = re.compile(r"^#?(\w+)(?:@([a-z0-9.-]+\.[a-z0-9-]+(?::\d+)?|[0-9.]+(?::\d+)?))?$", re.UNICODE | re.I)
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')


def next_link(page: Page) -> str | None:
    """The Link header's rel="next" URL: where the older statuses are."""
    for url, rel in _LINK.findall(page.headers.get("link", "")):
        if rel == "next":
            return url
    return None


def _statuses(page: Page) -> list[JsonObject]:
    try:
        data = json.loads(page.body)
    except ValueError as exc:
        raise ParseError(f"mastodon: {page.url} is not JSON ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("statuses"), list):  # /api/v2/search
        data = data["statuses"]
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise ParseError(f"mastodon: {page.url} is not a list of statuses; the API answer changed")
    return data


class MastodonScraper(Source):
    """Tag timelines, newest first; stops at the cursor or after `max_pages`."""

    name: ClassVar[str] = "mastodon"
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, base_url: str = DEFAULT_BASE_URL, http: PoliteSession | None = None, limit: int = 40,
                 max_pages: int = 25, credentials: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or PoliteSession()
        self.limit = limit
        self.max_pages = max_pages
        self._token = (credentials or {}).get("access_token")

    def __repr__(self) -> str:  # never the token
        return f"MastodonScraper(base_url={self.base_url!r})"

    @staticmethod
    def credentials_for(targets: Iterable[str]) -> tuple[str, ...]:
        """Hashtags need nothing; a search needs a token."""
        return ("access_token",) if any(not t.strip().startswith("#") for t in targets) else ()

    @staticmethod
    def check_target(target: str) -> str:
        target = target.strip()
        if not target.startswith("#"):
            if not target:
                raise ValueError("mastodon target is empty: a hashtag (#acme) or a search query")
            return target
        match = _TAG.match(target)
        if not match:
            raise ValueError(f"mastodon target {target!r} is not a hashtag such as #acme (or #acme@fosstodon.org)")
        return match.group(1)

    def _instance(self, target: str) -> str:
        """The instance a target reads: the one it names (#tag@host), else the block's base_url."""
        match = _TAG.match(target.strip()) if target.strip().startswith("#") else None
        if match and match.group(2):
            scheme = self.base_url.split("://", 1)[0] if "://" in self.base_url else "https"
            return f"{scheme}://{match.group(2).lower()}"
        return self.base_url

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        term = self.check_target(target)
        search = not target.strip().startswith("#")
        if search and not self._token:
            raise ValueError("mastodon: a search needs MASTODON_ACCESS_TOKEN; hashtags (#acme) need none")
        instance = self._instance(target)
        # The token is the base instance's account's: never sent to another instance a target names.
        headers = {"Authorization": f"Bearer {self._token}"} if self._token and instance == self.base_url else {}
        url: str | None = (f"{instance}/api/v2/search?type=statuses&resolve=false&limit={self.limit}&q={quote(term)}"
                           if search else f"{instance}/api/v1/timelines/tag/{quote(term)}?limit={self.limit}")
        for number in range(self.max_pages):
            if url is None:
                return
            page = self.http.get(url, headers=headers, meta={"page": number})
            self.http.respect_rate_limit(page, "X-RateLimit-Remaining", "X-RateLimit-Reset", "iso",
                                         "the instance's rate limit is used up")
            yield page
            statuses = _statuses(page)
            mentions = list(self.parse(page))
            if not mentions or passed_cursor(mentions, since):
                return
            if search:  # search pages by the last status's id; the answer has no Link header
                url = (f"{instance}/api/v2/search?type=statuses&resolve=false&limit={self.limit}&q={quote(term)}"
                       f"&max_id={quote(str(statuses[-1].get('id')))}") if len(statuses) >= self.limit else None
            else:
                url = next_link(page)

    def parse(self, page: Page) -> ParsedItems:
        return read_items(page, _statuses(page), lambda status: self._mention(status, page))

    def _mention(self, status: JsonObject, page: Page) -> Mention:
        original = status.get("reblog") or status  # a boost is the boosted status
        uri, created = original.get("uri"), original.get("created_at")
        if not uri or not created or "content" not in original:
            raise ParseError(f"mastodon: a status on {page.url} lacks uri, created_at or content")
        account = original.get("account") or {}
        spoiler = html_to_text(original.get("spoiler_text"))
        return Mention(
            source=self.name,
            external_id=str(uri),
            published_at=parse_iso_datetime(created, f"mastodon: status {uri}"),
            text=html_to_text(original.get("content")),
            title=spoiler or None,  # a content warning is what readers see first
            url=original.get("url") or original.get("uri"),
            author=account.get("acct"),
            kind="post",
            language=original.get("language"),
            raw={k: original.get(k) for k in ("id", "uri", "url", "created_at", "content", "language", "spoiler_text",
                                              "replies_count", "reblogs_count", "favourites_count")}
            | {"account": {"acct": account.get("acct"), "url": account.get("url")},
               "boosted_by": (status.get("account") or {}).get("acct") if status.get("reblog") else None},
        )
