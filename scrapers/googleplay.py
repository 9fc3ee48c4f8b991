"""Google Play reviews through the Play web app's batch RPC (`UsvDTd`), newest first.

A target is an app id (`com.example.app`). The answer is positional arrays
(id, user, stars, text, [seconds, nanos], developer reply, app version) and a
continuation token; the same arrays stand in a details page's
`AF_initDataCallback` blocks, which `parse` also reads: the 2019 form
(`data:function(){return [...]}`, ids "gp:…") and today's (`data:[...],
sideChannel: {}`, ids that are UUIDs). A block's array is read with a JSON
decoder from `data:` on, whatever follows it, and the reviews block is found
by its shape (id, user, stars 1-5, text, [seconds, nanos]), not by its ids.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, ClassVar, Iterator
from urllib.parse import quote

from scrapers.base import CursorState, Mention, Page, ParseError, Source, passed_cursor, utc_from_epoch
from scrapers.http import PoliteSession
from scrapers.parsing import ParsedItems, read_items

DEFAULT_BASE_URL = "https://play.google.com"
RPC_ID = "UsvDTd"
SORT_NEWEST = 2
_APP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")
# Where each data block's array begins: after `data:` (2026) or `data:function(){return ` (2019).
_INIT_DATA = re.compile(r"AF_initDataCallback\(\{key: 'ds:\d+'.*?data:(?:function\(\)\{return )?", re.S)


def rpc_form(app_id: str, count: int, token: str | None) -> dict[str, str]:
    """The `f.req` form field the web app sends for one page of reviews."""
    inner = [None, None, [2, SORT_NEWEST, [count, None, token], None, []], [app_id, 7]]
    return {"f.req": json.dumps([[[RPC_ID, json.dumps(inner), None, "generic"]]], separators=(",", ":"))}


def _json_values(text: str) -> Iterator[Any]:
    """Every JSON value in a batchexecute answer: plain, or in length-prefixed chunks."""
    decoder, i = json.JSONDecoder(), 0
    while i < len(text):
        if text[i] in "[{":
            value, i = decoder.raw_decode(text, i)
            yield value
        else:
            i += 1  # whitespace and chunk lengths


def decode_rpc(page: Page) -> tuple[list[Any], str | None]:
    """(reviews, next token) from a batchexecute answer; ParseError on anything else."""
    text = page.text()
    if not text.startswith(")]}'"):
        raise ParseError(f"googleplay: {page.url} is not a batchexecute answer (no )]}}' guard)")
    try:
        rows = [row for value in _json_values(text[4:]) if isinstance(value, list) for row in value]
    except ValueError as exc:
        raise ParseError(f"googleplay: {page.url} holds broken JSON ({exc})") from None
    row = next((r for r in rows if isinstance(r, list) and r[:2] == ["wrb.fr", RPC_ID]), None)
    if row is None:
        raise ParseError(f"googleplay: {page.url} has no {RPC_ID} answer")
    if len(row) < 3 or row[2] is None:
        raise ParseError(f"googleplay: Play did not understand the {RPC_ID} request (null payload)")
    try:
        payload = json.loads(row[2])
    except (TypeError, ValueError) as exc:
        raise ParseError(f"googleplay: the {RPC_ID} payload is not JSON ({exc})") from None
    return _reviews_and_token(payload, page.url)


def _reviews_and_token(payload: Any, url: str) -> tuple[list[Any], str | None]:
    if payload == []:
        return [], None
    if not isinstance(payload, list) or not isinstance(payload[0], list):
        raise ParseError(f"googleplay: the reviews payload on {url} is not a list of reviews; the RPC changed")
    token = None
    if len(payload) > 1 and isinstance(payload[-1], list) and payload[-1] and isinstance(payload[-1][-1], str):
        token = payload[-1][-1]
    return payload[0], token


def _looks_like_reviews(value: Any) -> bool:
    """A list whose first item is a list of reviews: [id, user, stars 1-5, _, text, [seconds, nanos], ...]."""
    first = value[0] if isinstance(value, list) and value and isinstance(value[0], list) else None
    review = first[0] if first and isinstance(first[0], list) else None
    return bool(review) and isinstance(_at(review, 0), str) and _at(review, 2) in (1, 2, 3, 4, 5) \
        and isinstance(_at(review, 5, 0), (int, float))


def details_page_reviews(page: Page) -> tuple[list[Any], str | None]:
    """The first page of reviews embedded in an app's details page (either form, see the module's docstring)."""
    text, decoder = page.text(), json.JSONDecoder()
    for match in _INIT_DATA.finditer(text):
        try:
            value, _ = decoder.raw_decode(text, match.end())
        except ValueError:
            continue
        if _looks_like_reviews(value):
            return _reviews_and_token(value, page.url)
    raise ParseError(f"googleplay: no review block in the details page {page.url}")


def _at(node: Any, *path: int) -> Any:
    for index in path:
        if not isinstance(node, list) or len(node) <= index:
            return None
        node = node[index]
    return node


class GooglePlayScraper(Source):
    """Pages by continuation token until a page reaches past the cursor or the token runs out."""

    name: ClassVar[str] = "googleplay"
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        http: PoliteSession | None = None,
        language: str = "en",
        country: str = "us",
        reviews_per_request: int = 100,
        max_pages: int = 50,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http or PoliteSession()
        self.language = language
        self.country = country
        self.reviews_per_request = reviews_per_request
        self.max_pages = max_pages

    @staticmethod
    def check_target(target: str) -> str:
        app_id = target.strip()
        if not _APP_ID.match(app_id):
            raise ValueError(f"googleplay target {target!r} is not an app id such as com.example.app")
        return app_id

    def pages(self, target: str, since: datetime | None, state: CursorState) -> Iterator[Page]:
        app_id = self.check_target(target)
        token: str | None = None
        for number in range(self.max_pages):
            page = self.http.post(
                f"{self.base_url}/_/PlayStoreUi/data/batchexecute",
                params={"hl": self.language, "gl": self.country},
                data=rpc_form(app_id, self.reviews_per_request, token),
                headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
                meta={"app": app_id, "page": number},
            )
            yield page
            reviews, token = decode_rpc(page)
            if not reviews or token is None or passed_cursor(self.parse(page), since):
                return

    def parse(self, page: Page) -> ParsedItems:
        reviews, _ = decode_rpc(page) if page.body.startswith(b")]}'") else details_page_reviews(page)
        app_id = page.meta.get("app")
        return read_items(page, reviews, lambda review: self._mention(review, page, app_id))

    def _mention(self, review: Any, page: Page, app_id: str | None) -> Mention:
        review_id, stars, seconds = _at(review, 0), _at(review, 2), _at(review, 5, 0)
        if not isinstance(review_id, str) or not isinstance(stars, int) or not isinstance(seconds, (int, float)):
            raise ParseError(f"googleplay: a review on {page.url} is not [id, user, stars, _, text, [seconds, nanos], ...]; "
                             "the RPC changed")
        reply = _at(review, 7)
        reply_seconds = _at(reply, 2, 0)
        url = None
        if app_id:
            url = f"{self.base_url}/store/apps/details?id={quote(app_id)}&reviewId={quote(review_id)}"
        return Mention(
            source=self.name,
            external_id=review_id,
            published_at=utc_from_epoch(seconds),
            text=str(_at(review, 4) or ""),
            url=url,
            author=_at(review, 1, 0),
            kind="review",
            rating=float(stars),
            replied=bool(_at(reply, 1)),
            reply_text=_at(reply, 1) or None,
            replied_at=utc_from_epoch(reply_seconds) if isinstance(reply_seconds, (int, float)) else None,
            app_version=_at(review, 10) if isinstance(_at(review, 10), str) else None,
            raw={"id": review_id, "user": _at(review, 1, 0), "stars": stars, "text": _at(review, 4),
                 "at": _at(review, 5), "thumbs_up": _at(review, 6), "reply": reply, "version": _at(review, 10)},
        )
