"""The demo's news sites as they answer: Algolia's Hacker News search, a Google Alerts Atom feed, a Google News RSS search."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Sequence
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from flows.demo.data import NEWS_PUBLISHERS, DemoItem

ALGOLIA_PAGING_LIMIT = 1000
_NUMERIC = re.compile(r"^created_at_i(<=|>=|<|>|=)(\d+)$")


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def algolia_hit(item: DemoItem) -> dict:
    ts = int(item.created.timestamp())
    common = {
        "author": item.author,
        "created_at": _iso(item.created),
        "created_at_i": ts,
        "objectID": str(item.item_id),
        "updated_at": _iso(item.created),
    }
    if item.kind == "story":
        return {**common, "_tags": ["story", f"author_{item.author}", f"story_{item.item_id}"],
                "title": item.title, "url": None, "story_text": None, "points": 3, "num_comments": 0,
                "story_id": item.item_id, "_highlightResult": {"title": {"value": item.title}}}
    story_id = item.item_id - 7
    return {**common, "_tags": ["comment", f"author_{item.author}", f"story_{story_id}"],
            "comment_text": html.escape(item.text), "story_id": story_id,
            "parent_id": story_id, "story_title": item.title, "story_url": None, "points": None}


def search_by_date(items: Sequence[DemoItem], params: dict[str, list[str]]) -> dict:
    query = params.get("query", [""])[0].lower()
    tags = params.get("tags", ["(story,comment)"])[0].strip("()").split(",")
    hpp = max(1, min(1000, int(params.get("hitsPerPage", ["20"])[0])))
    page = int(params.get("page", ["0"])[0])
    checks = []
    for clause in filter(None, params.get("numericFilters", [""])[0].split(",")):
        match = _NUMERIC.match(clause.strip())
        if not match:
            raise ValueError(f"invalid numericFilters clause {clause!r}")
        checks.append((match.group(1), int(match.group(2))))
    ops = {"<": int.__lt__, "<=": int.__le__, ">": int.__gt__, ">=": int.__ge__, "=": int.__eq__}
    hits = []
    for it in items:
        if it.source != "hackernews" or it.kind not in tags:
            continue
        if query and query not in f"{it.title} {it.text}".lower():
            continue
        ts = int(it.created.timestamp())
        if all(ops[op](ts, value) for op, value in checks):
            hits.append(it)
    hits.sort(key=lambda it: it.created, reverse=True)
    reachable = hits[:ALGOLIA_PAGING_LIMIT]
    nb_pages = -(-len(reachable) // hpp)
    chunk = reachable[page * hpp:(page + 1) * hpp]
    return {"hits": [algolia_hit(it) for it in chunk], "nbHits": len(hits), "page": page, "nbPages": nb_pages,
            "hitsPerPage": hpp, "exhaustiveNbHits": True, "query": query, "params": "", "processingTimeMS": 1}


def _article_url(item: DemoItem) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", item.title.lower()).strip("-")[:60]
    return f"https://news.example.com/{item.brand.lower()}/{item.item_id}-{slug}"


def google_alerts_atom(items: Sequence[DemoItem], brand: str, base_url: str) -> str:
    entries = []
    for it in items:
        if it.source != "feed" or it.brand != brand:
            continue
        bold = lambda s: xml_escape(html.escape(s).replace(brand, f"<b>{brand}</b>"))  # noqa: E731
        link = "https://www.google.com/url?rct=j&sa=t&url=" + quote(_article_url(it), safe=":/") + "&ct=ga&usg=AFQjCN"
        entries.append(
            f'<entry><id>tag:google.com,2013:googlealerts/feed:{it.item_id}</id>'
            f'<title type="html">{bold(it.title)}</title><link href="{xml_escape(link)}"></link>'
            f"<published>{_iso(it.created)}</published><updated>{_iso(it.created)}</updated>"
            f'<content type="html">{bold(it.text)}&amp;nbsp;...</content><author><name></name></author></entry>'
        )
    updated = _iso(max((it.created for it in items), default=datetime.now(timezone.utc)))
    return ('<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:idx="urn:atom-extension:indexing">'
            f"<id>tag:google.com,2005:reader/user/demo/state/com.google/alerts/{brand}</id>"
            f"<title>Google Alert - {xml_escape(brand)}</title>"
            f'<link href="{xml_escape(base_url)}/alerts/feeds/{brand.lower()}.xml" rel="self"></link>'
            f"<updated>{updated}</updated>{''.join(entries)}</feed>")


def google_news_rss(items: Sequence[DemoItem], query: str) -> str:
    out = []
    for it in items:
        if it.source != "feed" or query.lower() not in f"{it.title} {it.text}".lower():
            continue
        publisher = NEWS_PUBLISHERS[it.item_id % len(NEWS_PUBLISHERS)]
        desc = f'<a href="{_article_url(it)}" target="_blank">{html.escape(it.title)}</a>&nbsp;&nbsp;<font color="#6f6f6f">{publisher}</font>'
        out.append(
            f"<item><title>{xml_escape(it.title)} - {xml_escape(publisher)}</title>"
            f"<link>https://news.google.com/rss/articles/CBMi{it.item_id}?oc=5</link>"
            f'<guid isPermaLink="false">CBMi{it.item_id}</guid><pubDate>{format_datetime(it.created.astimezone(timezone.utc), usegmt=True)}</pubDate>'
            f"<description>{xml_escape(desc)}</description>"
            f'<source url="https://publisher.example.com">{xml_escape(publisher)}</source></item>'
        )
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" '
            'xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>'
            f'<title>"{xml_escape(query)}" - Google News</title><link>https://news.google.com/search?q={quote(query)}</link>'
            "<language>en-US</language><description>Google News</description>"
            f"{''.join(out)}</channel></rss>")
