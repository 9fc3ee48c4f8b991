"""Demo data: about 60 days of mentions for a fictional brand and a competitor (reviews: flows.demo.review_data).

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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flows.demo.review_data import DemoReview

BRAND = "Parcelly"
COMPETITOR = "ShipSwift"
HISTORY_DAYS = 60
INCIDENT_CLOCK = (time(22, 0), time(3, 0))  # last night's outage, local wall-clock time
INCIDENT_MENTIONS = 60
INCIDENT_FIRST_HOUR = 32

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
SOCIAL_RATES = {"reddit": 2.5, "mastodon": 1.5, "bluesky": 2.5}  # posts per day for the brand (70% for the competitor)
# The demo's own credentials, under a prefix of their own: real REDDIT_*/BLUESKY_* variables are never used by it.
DEMO_CREDENTIALS = {
    "REPWATCH_DEMO_REDDIT_CLIENT_ID": "demo-client", "REPWATCH_DEMO_REDDIT_CLIENT_SECRET": "demo-secret",
    "REPWATCH_DEMO_BLUESKY_IDENTIFIER": "repwatch-demo.bsky.social", "REPWATCH_DEMO_BLUESKY_APP_PASSWORD": "demo-app-pass",
}


@dataclass(frozen=True)
class DemoItem:
    """One generated mention, as neutral data; the server renders each source's format."""

    source: str  # hackernews, feed, reddit, mastodon or bluesky
    brand: str
    item_id: int
    created: datetime
    kind: str  # story, comment, article, post
    title: str
    text: str
    author: str
    language: str = "en"


# Mentions in other languages the model reads, during last night's outage (too few to change its shape):
# (source, hours before the anchor, language, text). Fixed, not drawn: the rest stays as it was. Between 3.2 and
# 3.8 hours before the 06:00 anchor (about 02:15 to 02:45) is in the 24 hours every run reports on, whatever
# the hour it runs (demo_anchor): at 03:00 the anchor moves to the morning ahead, and the 24 hours to 02:00 still
# began before them. (Not on the night the clocks go back, from 02:00 to 03:00: that night has 25 hours.)
# tests/test_demo_nights.py checks it every 10 minutes of three days.
FOREIGN_MENTIONS = [
    ("mastodon", 3.75, "fr", "L'application {b} ne fonctionne pas depuis hier soir et le service client ne répond pas. "
                            "Inadmissible."),
    ("bluesky", 3.6, "es", "Muchas gracias {b}, el paquete llegó antes de lo previsto. ¡Excelente servicio!"),
    ("reddit", 3.45, "it", "Qualcuno sa se anche l'app di {b} non funziona stanotte?"),
]


def demo_anchor(now: datetime, tz: tzinfo) -> datetime:
    """06:00 in `tz` after the night whose incident is over: today's from 03:00 on, yesterday's before.

    From 03:00 to 06:00 the anchor is still ahead: the data stops at `now`.
    Taking yesterday's then would put the incident more than a day back,
    outside the 24 hours a run reports on.
    """
    local = now.astimezone(tz)
    if local < datetime.combine(local.date(), INCIDENT_CLOCK[1], tzinfo=tz):
        return datetime.combine(local.date() - timedelta(days=1), time(6, 0), tzinfo=tz).astimezone(timezone.utc)
    return datetime.combine(local.date(), time(6, 0), tzinfo=tz).astimezone(timezone.utc)


def incident_span(anchor: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    """The night before `anchor`'s morning, 22:00 to 03:00 on the clock (on a night the clocks change, an
    hour more or less of it: the outage still begins at 22:00)."""
    morning = anchor.astimezone(tz).date()
    start, end = (datetime.combine(day, clock, tzinfo=tz)
                  for day, clock in ((morning - timedelta(days=1), INCIDENT_CLOCK[0]), (morning, INCIDENT_CLOCK[1])))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def weekly_send_at(now: datetime, tz: tzinfo) -> str:
    """The demo marketing group's weekly send time: the morning after the demo night, so its week holds the
    incident ('wednesday 06:00'; 03:00, when the incident is over, until 06:00 has come)."""
    anchor = demo_anchor(now, tz)
    at = "06:00" if now >= anchor else "03:00"
    return f"{anchor.astimezone(tz):%A} {at}".lower()


def replay_time(now: datetime, tz: tzinfo, at: str) -> datetime:
    """The demo night's clock time `at` ('22:15'; before noon is the morning after): for replaying the incident."""
    try:
        clock = time.fromisoformat(at)
    except ValueError:
        raise ValueError(f"--at {at!r} is not a time of day (HH:MM)") from None
    anchor = demo_anchor(now, tz).astimezone(tz)
    day = anchor.date() - timedelta(days=1) if clock.hour >= 12 else anchor.date()
    return datetime.combine(day, clock, tzinfo=tz).astimezone(timezone.utc)


def as_of(items: list[DemoItem], reviews: list[DemoReview], moment: datetime) -> tuple[list[DemoItem], list[DemoReview]]:
    """What the sites would show at `moment`: what was published by then, and only the replies given by then."""
    import dataclasses

    shown = [r if r.replied_at is None or r.replied_at <= moment else dataclasses.replace(r, reply_text=None,
                                                                                          replied_at=None)
             for r in reviews if r.created <= moment]
    return [i for i in items if i.created <= moment], shown


def _hourly_rate(base_per_day: float, moment: datetime, tz: tzinfo) -> float:
    """Expected mentions in the hour: more in the day, fewer at weekends."""
    local = moment.astimezone(tz)
    daily = 0.35 + 0.65 * max(0.0, math.sin(math.pi * (local.hour - 6) / 16)) if 6 <= local.hour < 22 else 0.2
    weekly = 0.7 if local.weekday() >= 5 else 1.1
    return base_per_day / 14.0 * daily * weekly


def poisson(rng: random.Random, lam: float) -> int:
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
            for _ in range(poisson(rng, _hourly_rate(hn_per_day, hour_start, tz))):
                pool = rng.choices([POSITIVE, NEUTRAL, NEGATIVE], weights=[4, 5, 1.5])[0]
                text = rng.choice(pool).format(b=brand)
                created = hour_start + timedelta(seconds=rng.randrange(3600))
                if rng.random() < 0.35:
                    add("hackernews", brand, created, "story", text.split(". ")[0][:90], "")
                else:
                    add("hackernews", brand, created, "comment", f"{brand} discussion", text)
            for _ in range(poisson(rng, _hourly_rate(feed_per_day, hour_start, tz))):
                pool = rng.choices([POSITIVE, NEUTRAL, NEGATIVE], weights=[3, 6, 1])[0]
                text = rng.choice(pool).format(b=brand)
                created = hour_start + timedelta(seconds=rng.randrange(3600))
                add("feed", brand, created, "article", text.split(". ")[0][:100], text)
            for source, per_day in SOCIAL_RATES.items():
                for _ in range(poisson(rng, _hourly_rate(per_day * (1.0 if brand == BRAND else 0.7), hour_start, tz))):
                    pool = rng.choices([POSITIVE, NEUTRAL, NEGATIVE], weights=[4, 4, 2])[0]
                    text = rng.choice(pool).format(b=brand)
                    created = hour_start + timedelta(seconds=rng.randrange(3600))
                    add(source, brand, created, "post", text.split(". ")[0][:90] if source == "reddit" else "", text)

    lo, hi = incident_span(anchor, tz)
    span = int((hi - lo).total_seconds())
    for i in range(INCIDENT_MENTIONS):
        # Front-loaded, as a real outage is: the first hour holds INCIDENT_FIRST_HOUR complaints (a fixed
        # number, so that every day's demo night is as loud at 22:45), the hours after it the rest.
        if i < INCIDENT_FIRST_HOUR:
            created = lo + timedelta(seconds=int(3600 * (i + rng.random()) / INCIDENT_FIRST_HOUR))
        else:
            created = lo + timedelta(seconds=3600 + int((span - 3600) * rng.random() ** 1.6))
        text = rng.choice(INCIDENT).format(b=BRAND)
        if i % 8 == 0:
            add("feed", BRAND, created, "article", f"{BRAND} customers report app outage and double charges",
                f"Users of {BRAND} said they could not log in overnight; some report being charged twice. " + text)
        elif i % 4 == 1:  # the outage is on social media too
            add(("reddit", "mastodon", "bluesky")[i % 3], BRAND, created, "post", f"{BRAND} is down" if i % 3 == 0 else "",
                text)
        else:
            add("hackernews", BRAND, created, "comment", f"{BRAND} is down", text)
    for source, hours_before, language, text in FOREIGN_MENTIONS:
        next_id += 1
        items.append(DemoItem(source, BRAND, next_id, anchor - timedelta(hours=hours_before), "post", "",
                              text.format(b=BRAND), f"user{next_id % 5000}", language))
    items = [it for it in items if it.created <= now]  # nothing from the future (after 03:00, the anchor is ahead)
    items.sort(key=lambda it: it.created, reverse=True)
    return items
