"""The demo's social sites, answering like the real APIs, from DemoItems.

- Reddit: POST /api/v1/access_token (HTTP Basic, client credentials) and the
  OAuth listings /r/<sub>/new and /search, paged by `after`, with the
  X-Ratelimit headers; a wrong or missing bearer token is a 401.
- Mastodon: /api/v1/timelines/tag/<tag>, a bare array of statuses, older
  pages by the Link header's `max_id`.
- Bluesky: com.atproto.server.createSession (an app password) and
  app.bsky.feed.searchPosts with a bearer token and an opaque cursor.
"""
from __future__ import annotations

import base64
import html
import json
from datetime import timezone
from typing import Sequence

from flows.demo.data import DEMO_CREDENTIALS, DemoItem
from scrapers.base import JsonObject

REDDIT_TOKEN = "demo-reddit-token"
BLUESKY_ACCESS, BLUESKY_REFRESH = "demo-bsky-access", "demo-bsky-refresh"


def _of(items: Sequence[DemoItem], source: str, query: str) -> list[DemoItem]:
    query = query.lower().lstrip("#")
    found = [it for it in items if it.source == source and query in f"{it.title} {it.text} {it.brand}".lower()]
    return sorted(found, key=lambda it: it.created, reverse=True)


# -- Reddit -------------------------------------------------------------------------

def reddit_token(authorization: str) -> tuple[int, JsonObject]:
    expected = "Basic " + base64.b64encode(
        f"{DEMO_CREDENTIALS['REPWATCH_DEMO_REDDIT_CLIENT_ID']}:"
        f"{DEMO_CREDENTIALS['REPWATCH_DEMO_REDDIT_CLIENT_SECRET']}".encode()).decode()
    if authorization != expected:
        return 401, {"message": "Unauthorized", "error": 401}
    return 200, {"access_token": REDDIT_TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}


def reddit_listing(items: Sequence[DemoItem], query: str, limit: int, after: str | None) -> JsonObject:
    found = _of(items, "reddit", query)
    start = next((i + 1 for i, it in enumerate(found) if f"t3_{it.item_id:x}" == after), 0) if after else 0
    chunk = found[start:start + limit]
    children = [{"kind": "t3", "data": {
        "id": f"{it.item_id:x}", "name": f"t3_{it.item_id:x}", "subreddit": it.brand.lower(), "title": it.title or it.text[:80],
        "selftext": it.text, "author": it.author, "created_utc": float(int(it.created.timestamp())),
        "permalink": f"/r/{it.brand.lower()}/comments/{it.item_id:x}/post/", "score": 1, "num_comments": 0,
    }} for it in chunk]
    more = start + limit < len(found)
    return {"kind": "Listing", "data": {"modhash": "", "dist": len(children), "children": children,
                                        "after": children[-1]["data"]["name"] if more and children else None,
                                        "before": None}}


# -- Mastodon -----------------------------------------------------------------------

def mastodon_tag(items: Sequence[DemoItem], tag: str, limit: int, max_id: str | None, base_url: str,
                 path: str) -> tuple[list[JsonObject], str | None]:
    found = [it for it in _of(items, "mastodon", tag) if max_id is None or it.item_id < int(max_id)]
    chunk = found[:limit]
    statuses = [{
        "id": str(it.item_id), "created_at": it.created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "uri": f"https://social.example/users/{it.author}/statuses/{it.item_id}",
        "url": f"https://social.example/@{it.author}/{it.item_id}", "language": it.language, "visibility": "public",
        "spoiler_text": "", "sensitive": False, "reblog": None, "replies_count": 0, "reblogs_count": 0,
        "favourites_count": 0, "content": f"<p>{html.escape(it.text)} "
                                          f'<a href="https://social.example/tags/{tag}" class="mention hashtag" rel="tag">'
                                          f"#<span>{html.escape(tag)}</span></a></p>",
        "account": {"acct": it.author, "url": f"https://social.example/@{it.author}"},
    } for it in chunk]
    link = None
    if len(found) > limit and chunk:
        link = f'<{base_url}{path}?limit={limit}&max_id={chunk[-1].item_id}>; rel="next"'
    return statuses, link


# -- Bluesky ------------------------------------------------------------------------

def bluesky_session(body: bytes) -> tuple[int, JsonObject]:
    try:
        asked = json.loads(body or b"{}")
    except ValueError:
        return 400, {"error": "InvalidRequest", "message": "body is not JSON"}
    if (asked.get("identifier"), asked.get("password")) != (DEMO_CREDENTIALS["REPWATCH_DEMO_BLUESKY_IDENTIFIER"],
                                                            DEMO_CREDENTIALS["REPWATCH_DEMO_BLUESKY_APP_PASSWORD"]):
        return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    return 200, {"did": "did:plc:repwatchdemo", "handle": asked["identifier"], "accessJwt": BLUESKY_ACCESS,
                 "refreshJwt": BLUESKY_REFRESH, "active": True}


def bluesky_search(items: Sequence[DemoItem], query: str, limit: int, cursor: str | None) -> JsonObject:
    found = _of(items, "bluesky", query)
    start = int(cursor) if cursor and cursor.isdigit() else 0
    chunk = found[start:start + limit]
    posts = [{
        "uri": f"at://did:plc:{it.author}/app.bsky.feed.post/3k{it.item_id:x}", "cid": f"bafyrei{it.item_id:x}",
        "author": {"did": f"did:plc:{it.author}", "handle": f"{it.author}.bsky.social", "displayName": it.author},
        "record": {"$type": "app.bsky.feed.post", "text": it.text, "langs": [it.language],
                   "createdAt": it.created.astimezone(timezone.utc).isoformat(timespec="microseconds")},
        "indexedAt": it.created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "likeCount": 0, "repostCount": 0, "replyCount": 0,
    } for it in chunk]
    out: JsonObject = {"posts": posts, "hitsTotal": len(found)}
    if start + limit < len(found):
        out["cursor"] = str(start + limit)
    return out
