"""The demo's review sites, rendered in each site's real format from DemoReviews.

- Trustpilot: a company page whose reviews are in `__NEXT_DATA__`, with the
  HTML cards and teaser cards beside them as on the real page.
- App Store: the customer-reviews feed (JSON; 50 a page, a `next` link, no
  `entry` past the end) and `userReviewsRow` (JSON to iTunes-like clients only).
- Google Play: the batchexecute answer for the `UsvDTd` RPC, token-paged.
- A shop's product page: schema.org JSON-LD (with the shop's answers as
  comments by an Organization) or microdata.
"""
from __future__ import annotations

import html
import json
import math
from datetime import datetime, timezone
from typing import Sequence

from flows.demo.data import BRAND, COMPETITOR
from flows.demo.review_data import BRAND_DOMAINS, DemoReview
from scrapers.base import JsonObject

APP_IDS = {BRAND: "1500000001", COMPETITOR: "1500000002"}
PLAY_IDS = {BRAND: "app.parcelly.android", COMPETITOR: "com.shipswift.app"}
TRUSTPILOT_PER_PAGE = 20
APPSTORE_PER_PAGE = 50
APPSTORE_MAX_PAGES = 10


def _iso_ms(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _of(reviews: Sequence[DemoReview], source: str, brand: str) -> list[DemoReview]:
    return sorted((r for r in reviews if r.source == source and r.brand == brand), key=lambda r: r.created, reverse=True)


def brand_for_domain(domain: str) -> str | None:
    return next((b for b, d in BRAND_DOMAINS.items() if d == domain), None)


# -- Trustpilot -------------------------------------------------------------------

def trustpilot_page(reviews: Sequence[DemoReview], brand: str, page: int) -> str:
    own = _of(reviews, "trustpilot", brand)
    total_pages = max(1, math.ceil(len(own) / TRUSTPILOT_PER_PAGE))
    chunk = own[(page - 1) * TRUSTPILOT_PER_PAGE: page * TRUSTPILOT_PER_PAGE]
    as_json = [{
        "id": r.review_id, "filtered": False, "pending": False, "text": r.text, "rating": r.rating,
        "labels": {"merged": None, "verification": {"isVerified": True, "verificationLevel": "invited"}},
        "title": r.title if len(r.title) < 40 else r.title[:38] + "…", "likes": 0, "source": "Organic",
        "dates": {"experiencedDate": _iso_ms(r.created.replace(hour=0, minute=0, second=0)),
                  "publishedDate": _iso_ms(r.created), "updatedDate": None, "submittedDate": None},
        "consumer": {"id": f"c{r.review_id}", "displayName": r.author, "countryCode": "GB", "numberOfReviews": 1},
        "reply": {"message": r.reply_text, "publishedDate": _iso_ms(r.replied_at), "updatedDate": None}
        if r.reply_text and r.replied_at else None,
        "language": r.language, "location": None,
    } for r in chunk]
    mean = sum(r.rating for r in own) / len(own) if own else 0
    data = {"props": {"pageProps": {
        "businessUnit": {"id": f"bu-{brand.lower()}", "displayName": brand, "identifyingName": BRAND_DOMAINS[brand],
                         "numberOfReviews": len(own), "trustScore": round(mean, 1), "stars": round(mean * 2) / 2},
        "reviews": as_json,
        # Teaser cards of other reviews, as the real page has: a parser must not count them.
        "relevantReviews": as_json[:2],
        "filters": {"pagination": {"currentPage": page, "perPage": TRUSTPILOT_PER_PAGE, "totalCount": len(own),
                                   "totalPages": total_pages}, "selected": {"sort": "recency", "languages": "all"}},
    }}, "page": "/review/[businessUnit]", "query": {"businessUnit": BRAND_DOMAINS[brand], "page": str(page)}}
    cards = "".join(
        f'<article data-service-review-card-paper="true"><h2 data-service-review-title-typography="true">'
        f'{html.escape(r["title"])}</h2><p data-service-review-text-typography="true">{html.escape(r["text"])}</p>'
        f'<div data-service-review-rating="{r["rating"]}"></div></article>'
        for r in as_json + as_json[:2]
    )
    # </script> inside the JSON would end the tag early: escape it as the real site does.
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (f'<!DOCTYPE html><html lang="en"><head><title>{html.escape(brand)} Reviews | Read Customer Service Reviews'
            f'</title></head><body><main>{cards}</main><script id="__NEXT_DATA__" type="application/json">{blob}'
            f"</script></body></html>")


# -- App Store --------------------------------------------------------------------

def appstore_feed(reviews: Sequence[DemoReview], brand: str, app: str, country: str, page: int, base_url: str) -> dict:
    own = [r for r in _of(reviews, "appstore", brand) if r.country == country][: APPSTORE_PER_PAGE * APPSTORE_MAX_PAGES]
    last = max(1, math.ceil(len(own) / APPSTORE_PER_PAGE))
    chunk = own[(page - 1) * APPSTORE_PER_PAGE: page * APPSTORE_PER_PAGE]

    def link(rel: str, n: int) -> dict:
        return {"attributes": {"rel": rel, "href": f"{base_url}/{country}/rss/customerreviews/page={n}/id={app}/"
                                                  f"sortby=mostrecent/xml?urlDesc=/customerreviews/page={page}/id={app}/"
                                                  "sortby=mostrecent/json"}}

    links = [link("first", 1), link("last", last)] + ([link("next", page + 1)] if page < last else [])
    feed: JsonObject = {
        "author": {"name": {"label": "iTunes Store"}, "uri": {"label": "http://www.apple.com/uk/itunes/"}},
        "updated": {"label": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S-07:00")},
        "title": {"label": "iTunes Store: Customer Reviews"}, "link": links,
        "id": {"label": f"{base_url}/{country}/rss/customerreviews/page={page}/id={app}/sortby=mostrecent/json"},
    }
    entries = [{
        "author": {"uri": {"label": f"https://itunes.apple.com/{country}/reviews/id{r.review_id[2:]}"},
                   "name": {"label": r.author}, "label": ""},
        "updated": {"label": r.created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S-07:00")},
        "im:rating": {"label": str(r.rating)}, "im:version": {"label": r.app_version},
        "id": {"label": r.review_id}, "title": {"label": r.title},
        "content": {"label": r.text, "attributes": {"type": "text"}},
        "link": {"attributes": {"rel": "related", "href": f"https://itunes.apple.com/{country}/review?id={app}"}},
        "im:voteSum": {"label": "0"}, "im:contentType": {"attributes": {"term": "Application", "label": "Application"}},
        "im:voteCount": {"label": "0"},
    } for r in chunk]
    if len(entries) == 1:
        feed["entry"] = entries[0]  # Apple sends a lone entry as an object, not a list
    elif entries:
        feed["entry"] = entries  # and no `entry` key at all past the last page
    return {"feed": feed}


def appstore_reviews_row(reviews: Sequence[DemoReview], brand: str, country: str, start: int, end: int) -> dict:
    own = [r for r in _of(reviews, "appstore", brand) if r.country == country]
    return {"userReviewList": [{
        "userReviewId": r.review_id, "title": r.title, "body": r.text, "rating": r.rating, "name": r.author,
        "date": r.created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "isEdited": False,
        "voteCount": 0, "voteSum": 0,
        "developerResponse": {"id": int(r.review_id[2:]), "body": r.reply_text,
                              "modified": r.replied_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if r.reply_text and r.replied_at else None,
    } for r in own[start:end]]}


# -- Google Play ------------------------------------------------------------------

def play_batchexecute(reviews: Sequence[DemoReview], brand: str, count: int, token: str | None) -> str:
    own = _of(reviews, "googleplay", brand)
    offset = int(token.removeprefix("demo-")) if token else 0
    chunk = own[offset: offset + count]
    rows = [[
        r.review_id, [r.author, [None, 2, None, [None, None, "https://play-lh.googleusercontent.com/a/x"]]], r.rating,
        None, r.text, [int(r.created.timestamp()), r.created.microsecond * 1000], 0,
        [None, r.reply_text, [int(r.replied_at.timestamp()), 0]] if r.reply_text and r.replied_at else None,
        None, None, r.app_version, None, None,
    ] for r in chunk]
    more = offset + count < len(own)
    payload = json.dumps([rows, [None, f"demo-{offset + count}"]] if more else [rows]) if own else "[]"
    body = json.dumps([["wrb.fr", "UsvDTd", payload, None, None, None, "generic"], ["di", 61],
                       ["af.httprm", 61, "-1234567890", 7]])
    return ")]}'\n\n" + body


# -- a shop's product page (schema.org) -----------------------------------------

def shop_page(reviews: Sequence[DemoReview], brand: str) -> str:
    own = _of(reviews, "schemaorg", brand)
    mean = sum(r.rating for r in own) / len(own) if own else 0
    name = f"{brand} parcel locker subscription"
    if brand == COMPETITOR:  # microdata, as many shops still have it; its answers are not marked up
        items = "".join(
            f'<div itemprop="review" itemscope itemtype="https://schema.org/Review">'
            f'<span itemprop="name">{html.escape(r.title)}</span> by '
            f'<span itemprop="author" itemscope itemtype="https://schema.org/Person"><span itemprop="name">'
            f'{html.escape(r.author)}</span></span>, <meta itemprop="datePublished" content="{r.created.date()}">'
            f'<div itemprop="reviewRating" itemscope itemtype="https://schema.org/Rating">'
            f'<meta itemprop="worstRating" content="1"><span itemprop="ratingValue">{r.rating}</span>/'
            f'<span itemprop="bestRating">5</span></div><p itemprop="reviewBody">{html.escape(r.text)}</p></div>'
            for r in own)
        return (f'<!DOCTYPE html><html><head><title>{html.escape(name)}</title></head><body>'
                f'<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">{html.escape(name)}</h1>'
                f'<div itemprop="aggregateRating" itemscope itemtype="https://schema.org/AggregateRating">'
                f'<span itemprop="ratingValue">{mean:.1f}</span> from <span itemprop="reviewCount">{len(own)}</span>'
                f"</div>{items}</div></body></html>")
    graph = {
        "@context": "https://schema.org", "@type": "Product", "name": name, "sku": "PL-SUB-1",
        "brand": {"@type": "Brand", "name": brand},
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": round(mean, 2), "reviewCount": len(own),
                            "bestRating": 5},
        "review": [{
            "@type": "Review", "@id": f"https://shop.example.com/parcelly#review-{r.review_id}",
            "name": r.title, "reviewBody": r.text, "datePublished": r.created.date().isoformat(),
            "author": {"@type": "Person", "name": r.author},
            "reviewRating": {"@type": "Rating", "ratingValue": r.rating, "bestRating": 5},
            **({"comment": [{"@type": "Comment", "text": r.reply_text, "dateCreated": r.replied_at.isoformat(),
                             "author": {"@type": "Organization", "name": brand}}]}
               if r.reply_text and r.replied_at else {}),
        } for r in own],
    }
    blob = json.dumps(graph, ensure_ascii=False).replace("</", "<\\/")
    return (f'<!DOCTYPE html><html><head><title>{html.escape(name)}</title>'
            f'<script type="application/ld+json">{blob}</script></head><body><h1>{html.escape(name)}</h1></body></html>')
