"""Demo data: about 60 days of mentions for a fictional brand and a competitor.

Generated relative to today so that "last night" always has news: an incident
(a burst of angry mentions about an outage) in the night before the anchor.
Everything is seeded by the anchor's date, so running the demo twice on one
day serves the same mentions, and a rerun stores nothing twice.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo

BRAND = "Parcelly"
COMPETITOR = "ShipSwift"
HISTORY_DAYS = 60
INCIDENT_HOURS = (-8, -3)  # relative to the anchor (06:00): 22:00 to 03:00
INCIDENT_MENTIONS = 48

POSITIVE = [
    "Switched to {b} last month and every parcel arrived a day early. Great app, love the live map.",
    "Shout-out to {b} support: they fixed my address in two minutes. Excellent service!",
    "{b} is honestly the best courier app I have used, tracking is clear and accurate.",
    "Really happy with {b}, the drop-off lockers are convenient and cheap.",
    "The new {b} release is fast and the notifications are finally useful. Nice work.",
]
NEUTRAL = [
    "Does anyone know if {b} delivers to Norway yet?",
    "{b} announced new pickup points in Lyon and Lille.",
    "Comparing {b} and other couriers for a small online shop, any experience?",
    "{b} changed its pricing page today, weekend delivery is now listed separately.",
    "Ask HN: how does {b} route parcels between depots?",
]
NEGATIVE = [
    "{b} delivered my parcel to the wrong address and support has not answered for days.",
    "Annoyed with {b}: the courier marked it delivered but nothing arrived.",
    "{b} keeps raising prices, the service got worse, disappointed.",
]
INCIDENT = [
    "{b} app is down, I can't log in and the tracking page shows nothing. Terrible.",
    "Is {b} having an outage? Login fails with an error and my parcel disappeared from the app. Awful.",
    "{b} charged me twice and now the app won't let me log in. I want a refund, this is a scam.",
    "Third hour of the {b} outage. No login, no tracking, no answer from support. Horrible service.",
    "{b} lost my parcel AND the app crashed during login. Worst courier ever, requesting a refund.",
    "Cannot log in to {b} since last night, the error keeps coming back. Furious, refund please.",
]
NEWS_PUBLISHERS = ["The Courier Times", "Logistics Weekly", "Retail Daily", "TechNews"]


@dataclass(frozen=True)
class DemoItem:
    """One generated mention, as neutral data; the server renders each source's format."""

    source: str  # hackernews or feed
    brand: str
    item_id: int
    created: datetime
    kind: str  # story, comment, article
    title: str
    text: str
    author: str


def demo_anchor(now: datetime, tz: tzinfo) -> datetime:
    """06:00 today in `tz` (yesterday's if it is not yet 06:00): the end of the demo's data."""
    local = now.astimezone(tz)
    anchor = datetime.combine(local.date(), time(6, 0), tzinfo=tz)
    if local < anchor:
        anchor -= timedelta(days=1)
    return anchor.astimezone(timezone.utc)


def _hourly_rate(base_per_day: float, moment: datetime, tz: tzinfo) -> float:
    """Expected mentions in the hour: more in the day, fewer at weekends."""
    local = moment.astimezone(tz)
    daily = 0.35 + 0.65 * max(0.0, math.sin(math.pi * (local.hour - 6) / 16)) if 6 <= local.hour < 22 else 0.2
    weekly = 0.7 if local.weekday() >= 5 else 1.1
    return base_per_day / 14.0 * daily * weekly


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small rates used here.
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def generate(now: datetime, tz: tzinfo) -> list[DemoItem]:
    anchor = demo_anchor(now, tz)
    rng = random.Random(anchor.date().toordinal())
    items: list[DemoItem] = []
    next_id = 40_000_000 + (anchor.date().toordinal() % 1000) * 10_000
    start = anchor - timedelta(days=HISTORY_DAYS)
    hours = HISTORY_DAYS * 24

    def add(source: str, brand: str, created: datetime, kind: str, title: str, text: str) -> None:
        nonlocal next_id
        next_id += 1
        items.append(DemoItem(source, brand, next_id, created, kind, title, text, f"user{rng.randrange(1, 5000)}"))

    for h in range(hours):
        hour_start = start + timedelta(hours=h)
        for brand, hn_per_day, feed_per_day in ((BRAND, 9.0, 1.5), (COMPETITOR, 6.0, 1.2)):
            for _ in range(_poisson(rng, _hourly_rate(hn_per_day, hour_start, tz))):
                pool = rng.choices([POSITIVE, NEUTRAL, NEGATIVE], weights=[4, 5, 1.5])[0]
                text = rng.choice(pool).format(b=brand)
                created = hour_start + timedelta(seconds=rng.randrange(3600))
                if rng.random() < 0.35:
                    add("hackernews", brand, created, "story", text.split(". ")[0][:90], "")
                else:
                    add("hackernews", brand, created, "comment", f"{brand} discussion", text)
            for _ in range(_poisson(rng, _hourly_rate(feed_per_day, hour_start, tz))):
                pool = rng.choices([POSITIVE, NEUTRAL, NEGATIVE], weights=[3, 6, 1])[0]
                text = rng.choice(pool).format(b=brand)
                created = hour_start + timedelta(seconds=rng.randrange(3600))
                add("feed", brand, created, "article", text.split(". ")[0][:100], text)

    lo, hi = (anchor + timedelta(hours=h) for h in INCIDENT_HOURS)
    span = int((hi - lo).total_seconds())
    for i in range(INCIDENT_MENTIONS):
        # Front-loaded: most complaints come in the first hours, as in a real outage.
        created = lo + timedelta(seconds=int(span * rng.random() ** 1.6))
        text = rng.choice(INCIDENT).format(b=BRAND)
        if i % 8 == 0:
            add("feed", BRAND, created, "article", f"{BRAND} customers report app outage and double charges",
                f"Users of {BRAND} said they could not log in overnight; some report being charged twice. " + text)
        else:
            add("hackernews", BRAND, created, "comment", f"{BRAND} is down", text)
    items.sort(key=lambda it: it.created, reverse=True)
    return items
