"""Reddit through its OAuth API with an app-only token (client credentials), newest first, paged by `after`.

Targets: `r/<sub>` (the subreddit's new posts), `r/<sub>: <query>` (a search in
it) or `<query>` (a site-wide search). With `comments: true`, a subreddit
target also reads its newest comments. Credentials: REDDIT_CLIENT_ID and
REDDIT_CLIENT_SECRET (a "script" or "web" app). The token lives in memory for
one fetch; a 401 asks for a new one once; a refused token request is
"credentials refused". X-Ratelimit-Remaining/-Reset are respected: with no
requests left, the fetch waits for the reset (or leaves it to the task's
retry when that is long). A thin client on the polite session rather than
PRAW: PRAW brings its own HTTP stack and rate limiter, where every source
here shares one set of rules and keeps the raw payload.
"""
from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from typing import Any, ClassVar, Iterator

from scrapers.base import (
    CursorState, JsonObject, Mention, Page, ParseError, Source, passed_cursor, utc_from_epoch,
)
from scrapers.http import PoliteSession, RequestParams
from scrapers.http_errors import CredentialsRefused, FatalHTTPError
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://oauth.reddit.com"
DEFAULT_AUTH_URL = "https://www.reddit.com"
WEB_URL = "https://www.reddit.com"
_SUB = re.compile(r"^r/([A-Za-z0-9_]{2,21})(?::\s*(.+))?$")


def parse_target(target: str) -> tuple[str | None, str | None]:
    """(subreddit, query): `r/sub`, `r/sub: query` or `query`."""
    target = target.strip()
    match = _SUB.match(target)
    if match:
        return match.group(1), (match.group(2) or "").strip() or None
    if not target or target.startswith("r/"):
        raise ValueError(f"reddit target {target!r} is not r/<subreddit>, r/<subreddit>: <query> or a search query")
    return None, target


def _listing(page: Page) -> JsonObject:
    try:
        data = json.loads(page.body)
    except ValueError as exc:
        raise ParseError(f"reddit: {page.url} is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("kind") != "Listing" or not isinstance((data.get("data") or {}).get("children"), list):
        raise ParseError(f"reddit: {page.url} is not a Listing; the API answer changed")
    return data["data"]


class RedditScraper(Source):
    name: ClassVar[str] = "reddit"
    default_base_url = DEFAULT_BASE_URL
    required_credentials: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    def __init__(self, base_url: str = DEFAULT_BASE_URL, http: PoliteSession | None = None,
                 credentials: dict[str, str] | None = None, auth_url: str = DEFAULT_AUTH_URL, web_url: str = WEB_URL,
                 limit: int = 100, max_pages: int = 10, comments: bool = False) -> None:
        if not credentials:
            raise ValueError("reddit needs credentials (REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET)")
        self.base_url = base_url.rstrip("/")
        self.auth_url = auth_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.http = http or PoliteSession()
        self._credentials = credentials
        self.limit = limit
        self.max_pages = max_pages
        self.comments = comments
        self._token: str | None = None

    def __repr__(self) -> str:  # never the secrets
        return f"RedditScraper(base_url={self.base_url!r})"

    @staticmethod
    def check_target(target: str) -> None:
        parse_target(target)

    # -- the token ------------------------------------------------------------------

    def _new_token(self) -> None:
        pair = f"{self._credentials['client_id']}:{self._credentials['client_secret']}".encode()
        try:
            page = self.http.post(f"{self.auth_url}/api/v1/access_token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": "Basic " + base64.b64encode(pair).decode()})
        except FatalHTTPError as exc:
            if exc.status in (400, 401, 403):
                raise CredentialsRefused(f"credentials refused: Reddit did not accept REDDIT_CLIENT_ID / "
                                         f"REDDIT_CLIENT_SECRET (HTTP {exc.status})", exc.url, exc.status) from None
            raise
        try:
            token = json.loads(page.body).get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:  # Reddit answers 200 {"error": "invalid_grant"} to some refusals
            raise CredentialsRefused("credentials refused: Reddit's token answer has no access_token", page.url)
        self._token = token

    def _get(self, path: str, params: RequestParams) -> Page:
        if self._token is None:
            self._new_token()
        for attempt in range(2):
            try:
                page = self.http.get(f"{self.base_url}{path}", params=params,
                                     headers={"Authorization": f"bearer {self._token}"}, meta={"after": params.get("after")})
            except FatalHTTPError as exc:
                if exc.status != 401 or attempt == 1:
                    raise
                self._new_token()  # expired or revoked: one new token, then give up
                continue
            self.http.respect_rate_limit(page, "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "seconds",
                                         "Reddit's rate limit is used up")
            return page
        raise AssertionError("unreachable")

    # -- the seam ---------------------------------------------------------------------

    def _paths(self, target: str) -> list[tuple[str, RequestParams]]:
        sub, query = parse_target(target)
        common = {"limit": self.limit, "raw_json": 1}
        if sub and query:
            return [(f"/r/{sub}/search", {**common, "q": query, "restrict_sr": "on", "sort": "new"})]
        if sub:
            paths = [(f"/r/{sub}/new", common)]
            return paths + ([(f"/r/{sub}/comments", common)] if self.comments else [])
        return [("/search", {**common, "q": query, "sort": "new", "type": "link"})]

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        for path, params in self._paths(target):
            after: str | None = None
            for _ in range(self.max_pages):
                page = self._get(path, {**params, **({"after": after} if after else {})})
                yield page
                mentions = list(self.parse(page))
                after = _listing(page).get("after")
                if not mentions or not after or passed_cursor(mentions, since):
                    break

    def parse(self, page: Page) -> ParsedItems:
        return read_items(page, _listing(page)["children"], lambda child: self._mention(child, page))

    def _mention(self, child: Any, page: Page) -> Mention:
        kind, data = (child.get("kind"), child.get("data")) if isinstance(child, dict) else (None, None)
        if kind not in ("t1", "t3") or not isinstance(data, dict) or not data.get("name") or data.get("created_utc") is None:
            raise ParseError(f"reddit: an item on {page.url} is not a post or comment with name and created_utc")
        is_post = kind == "t3"
        permalink = data.get("permalink") or ""
        return Mention(
            source=self.name,
            external_id=str(data["name"]),
            published_at=utc_from_epoch(data["created_utc"]),
            text=str((data.get("selftext") if is_post else data.get("body")) or ""),
            title=(data.get("title") if is_post else data.get("link_title")) or None,
            url=f"{self.web_url}{permalink}" if permalink.startswith("/") else None,
            author=data.get("author"),
            kind="post" if is_post else "comment",
            raw={k: data.get(k) for k in ("name", "id", "subreddit", "title", "selftext", "body", "author", "created_utc",
                                          "permalink", "url", "score", "num_comments", "link_title")},
        )
