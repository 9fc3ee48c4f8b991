"""Demo reviews: about 60 days on the four review sites for the demo's brand and its competitor, with replies.

Seeded by the anchor's date like the mentions (flows.demo.data), with 1-star
reviews during last night's outage; a reply is posted hours or days after
its review, and one due after the anchor has not happened yet.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from flows.demo.data import BRAND, COMPETITOR, HISTORY_DAYS, demo_anchor, incident_span, poisson

REVIEW_SOURCES = ("trustpilot", "appstore", "googleplay", "schemaorg")
# Reviews per day for the brand (the competitor gets 70% of it).
REVIEW_RATES = {"trustpilot": 2.0, "appstore": 1.5, "googleplay": 2.0, "schemaorg": 0.6}
STARS_WEIGHTS = {5: 45, 4: 22, 3: 9, 2: 9, 1: 15}
APP_VERSIONS = ["4.11.0", "4.11.2", "4.12.0", "4.12.1"]  # the newest is the one of the last two weeks
INCIDENT_REVIEWS = {"appstore": 3, "googleplay": 4, "trustpilot": 3}  # 1-star reviews during last night's outage

REVIEW_TEXTS = {
    5: [("Brilliant", "{b} delivered next morning and the live map is spot on. Best courier I have used."),
        ("Five stars", "Friendly drivers, easy returns, and the app just works. Thank you {b}!"),
        ("Love the lockers", "The {b} lockers are right by my office, picking up parcels is painless."),
        ("Great support", "Had a question about customs fees and {b} support answered in minutes. Excellent.")],
    4: [("Very good", "Good service overall, one parcel came a day late but tracking told me why."),
        ("Solid app", "The {b} app is clear and quick. I would like weekend slots, otherwise great.")],
    3: [("OK", "Deliveries are fine but the {b} app logs me out too often."),
        ("Average", "Prices went up a bit. The service is still decent, nothing special.")],
    2: [("Slow", "My parcel sat in the depot for four days and nobody told me why. Disappointing."),
        ("Not great", "The driver left my parcel outside in the rain. Not happy with {b}.")],
    1: [("Lost parcel", "{b} lost my parcel and support keeps sending the same useless template. Terrible."),
        ("Never again", "Marked as delivered, nothing arrived. Three emails to {b}, no answer. Awful service."),
        ("Charged twice", "I was charged twice for one delivery and still have no refund. Very poor."),
        ("Wrong address", "{b} delivered to the wrong street and refuses to collect it. Worst experience.")],
}
INCIDENT_REVIEW_TEXTS = [
    ("App down", "Cannot log in since last night, the {b} app just shows an error. Useless."),
    ("Outage", "{b} outage: no tracking, no login, and I was charged twice. I want a refund."),
    ("Broken update", "After the update the {b} app crashes at login. My parcel is somewhere and I can't see it."),
]
REPLY_TEXTS = {
    "negative": "Hi {a}, we are sorry about this. Please send your tracking number to help@{d} and we will sort it out today. – The {b} team",
    "neutral": "Thanks for the feedback, {a}. We are working on it. – The {b} team",
    "positive": "Thank you {a}, that made our day! – The {b} team",
}
BRAND_DOMAINS = {BRAND: "parcelly.app", COMPETITOR: "shipswift.com"}
# Reviews in other languages the model reads, during last night's outage: (source, hours before the anchor, stars,
# language, title, text). Fixed, after everything drawn: the rest of the data stays as it was. Between 3.2 and
# 3.8 hours before the anchor, as data.FOREIGN_MENTIONS: in every run's 24 hours, whatever the hour it runs.
FOREIGN_REVIEWS = [
    ("trustpilot", 3.7, 1, "es", "Una estafa", "Me cobraron dos veces el envío y {b} no me devuelve el dinero. "
                                              "Nadie contesta."),
    ("appstore", 3.5, 2, "de", "Enttäuschend", "Die App von {b} stürzt beim Login ständig ab und die "
                                               "Sendungsverfolgung funktioniert nicht."),
    ("googleplay", 3.3, 5, "pt", "Excelente", "O aplicativo do {b} é ótimo, a entrega chegou antes do previsto e o "
                                              "atendimento foi muito bom. Recomendo!"),
]


@dataclass(frozen=True)
class DemoReview:
    """One generated review, as neutral data; the server renders each site's format."""

    source: str  # trustpilot, appstore, googleplay or schemaorg
    brand: str
    review_id: str
    created: datetime
    rating: int
    title: str
    text: str
    author: str
    country: str  # for the App Store: the storefront it was written in
    app_version: str
    reply_text: str | None  # None: not answered (yet)
    replied_at: datetime | None
    language: str = "en"


def _reply_delay(rng: random.Random, rating: int, competitor: bool) -> timedelta | None:
    """When the business answers, if it does: most bad reviews within days, fewer good ones; the competitor less."""
    share = (0.75 if rating <= 2 else 0.35) * (0.55 if competitor else 1.0)
    if rng.random() > share:
        return None
    return timedelta(hours=rng.uniform(1.5, 20) if rng.random() < 0.5 else rng.uniform(24, 24 * 5))


def generate_reviews(now: datetime, tz: tzinfo) -> list[DemoReview]:
    """About 60 days of reviews on the four review sites for both brands, with replies posted hours or days later.

    A reply whose time is after the anchor has not happened yet: those reviews wait.
    """
    anchor = demo_anchor(now, tz)
    rng = random.Random(anchor.date().toordinal() * 7 + 1)
    start = anchor - timedelta(days=HISTORY_DAYS)
    reviews: list[DemoReview] = []
    counter = 0

    def add(source: str, brand: str, created: datetime, rating: int, title: str, text: str, language: str = "en") -> None:
        nonlocal counter
        counter += 1
        competitor = brand == COMPETITOR
        delay = _reply_delay(rng, rating, competitor)
        replied_at = created + delay if delay is not None else None
        reply = None
        if replied_at is not None and replied_at <= min(anchor, now):
            mood = "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"
            reply = REPLY_TEXTS[mood].format(a="there", b=brand, d=BRAND_DOMAINS[brand])
        else:
            replied_at = None
        age_days = (anchor - created).days
        version = APP_VERSIONS[max(0, len(APP_VERSIONS) - 1 - age_days // 14)]
        reviews.append(DemoReview(
            source=source, brand=brand, review_id=f"{source[:2]}{anchor.date().toordinal() % 1000:03d}{counter:05d}",
            created=created, rating=rating, title=title, text=text.format(b=brand),
            author=f"{rng.choice(['Sam', 'Alex', 'Priya', 'Jonas', 'Marie', 'Kenji', 'Lea', 'Omar'])} "
                   f"{rng.choice('ABCDEFGHJKLMNPRSTW')}.",
            country=rng.choice(["us", "gb"]) if source == "appstore" else "us",
            app_version=version, reply_text=reply, replied_at=replied_at, language=language,
        ))

    stars, weights = zip(*STARS_WEIGHTS.items())
    for day in range(HISTORY_DAYS):
        for brand, factor in ((BRAND, 1.0), (COMPETITOR, 0.7)):
            for source in REVIEW_SOURCES:
                for _ in range(poisson(rng, REVIEW_RATES[source] * factor)):
                    created = start + timedelta(days=day, seconds=rng.randrange(86400))
                    rating = rng.choices(stars, weights)[0]
                    title, text = rng.choice(REVIEW_TEXTS[rating])
                    add(source, brand, created, rating, title, text)
    lo, hi = incident_span(anchor, tz)
    for source, count in INCIDENT_REVIEWS.items():
        for _ in range(count):
            created = lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))
            title, text = rng.choice(INCIDENT_REVIEW_TEXTS)
            add(source, BRAND, created, 1, title, text)
    for source, hours_before, rating, language, title, text in FOREIGN_REVIEWS:
        add(source, BRAND, anchor - timedelta(hours=hours_before), rating, title, text, language)
    reviews = [r for r in reviews if r.created <= now]
    reviews.sort(key=lambda r: r.created, reverse=True)
    return reviews
