"""The digests on a phone and for every reader: rendered in a real browser (headless Chromium) in 390 and 320 px
frames, from data that stresses them (four brands with long names, a long URL, a 2,000-character review), and
checked for what a screen reader and a reader without colour need."""
import re
import shutil
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest

from reports.digest import render_digest
from reports.weekly import build_weekly_context, render_weekly

from test_digest import BEFORE, END, KPI, context
from test_weekly import LONDON, _week

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (.ci/run installs the distribution's)")

BRANDS = ["Acme International Logistics & Parcel Services", "Rival Express Worldwide Deliveries",
          "ThirdCourierWithAnExtremelyLongNameWithoutSpaces", "Fourth"]
LONG_URL = "https://reviews.example/" + "very-long-path-segment/" * 12 + "?utm_source=" + "x" * 80
LONG_REVIEW = ("I waited for my parcel for three weeks and nobody answered. " * 34)[:2000]


def stressed_daily() -> str:
    brands = [{"name": b, "competitor": i > 0} for i, b in enumerate(BRANDS)]
    kpis = {b: KPI for b in BRANDS}
    negatives = [{"brand": BRANDS[0], "source": "trustpilot", "published_at": END - timedelta(hours=2), "url": LONG_URL,
                  "title": "A" * 150, "author": "Ana", "text": LONG_REVIEW + " " + LONG_URL, "rating": 1.0,
                  "compound": -0.9, "label": "negative", "rated_label": "negative", "text_language": "en",
                  "drivers": [["waited", -1.0]]}]
    awaiting = [{"brand": BRANDS[0], "source": "trustpilot", "published_at": END - timedelta(days=3), "url": LONG_URL,
                 "title": "Never again " * 8, "author": "Ana B.", "text": LONG_REVIEW, "rating": 1.0,
                 "app_version": None}] * 3
    health = [{"brand": b, "source": "feed", "target": LONG_URL, "ok": i % 2 == 0, "fetched": 1200, "new": 1100,
               "error": None if i % 2 == 0 else "FatalHTTPError: HTTP 404 from " + LONG_URL} for i, b in enumerate(BRANDS)]
    replies = {b: {"answerable": 100, "answered": 55, "median_reply_seconds": 90000} for b in BRANDS}
    return render_digest(context(brands=brands, kpis_now=kpis, kpis_before={b: BEFORE for b in BRANDS},
                                 negatives=negatives, awaiting=awaiting, awaiting_total=40, health=health,
                                 replies_now=replies, replies_before=replies)).html


def stressed_weekly() -> str:
    end = END + timedelta(days=6)
    starts = [end - timedelta(weeks=8 - i) for i in range(8)]
    figures = {b: [_week(s, 1200 + i, 120, 1200, 4.1) for s in starts] for i, b in enumerate(BRANDS)}
    replies = {b: [{"answerable": 10, "answered": 5, "median_reply_seconds": 7200}] * 8 for b in BRANDS}
    worst = [{"brand": BRANDS[0], "source": "trustpilot", "published_at": end - timedelta(days=1), "rating": 1,
              "title": "T" * 120, "text": LONG_REVIEW + " " + LONG_URL, "url": LONG_URL}]
    ctx = build_weekly_context(
        title="Acme weekly", period_start=end - timedelta(days=7), period_end=end, tz=LONDON,
        brands=[{"name": b, "competitor": i > 0} for i, b in enumerate(BRANDS)], figures=figures, replies=replies,
        alerts=[], pushed={}, themes_by_brand={}, best=[], worst=worst, checks=[], export=None,
        languages={BRANDS[0]: [{"language": code, "now": {"mentions": 12345, "read": 12000, "judged": 12100,
                                                         "negative": 4321},
                                "before": {"mentions": 1234, "read": 1200, "judged": 1210, "negative": 21}}
                               for code in ("en", "pt", "und-Latn", "ru")]})
    return render_weekly(ctx).html


def widths(html: str, frames=(390, 320)) -> dict[int, int]:
    """The page's scrollWidth in an iframe of each width (Chromium's smallest window is 500 px)."""
    folder = Path(tempfile.mkdtemp())
    page = folder / "digest.html"
    page.write_text(html, encoding="utf-8")
    out = {}
    for width in frames:
        wrapper = folder / f"frame-{width}.html"
        wrapper.write_text(
            f'<!doctype html><html><body style="margin:0"><iframe id="f" src="{page.as_uri()}" '
            f'style="width:{width}px;height:3000px;border:0"></iframe><pre id="out">pending</pre><script>'
            "document.getElementById('f').addEventListener('load', function () {"
            "var d = document.getElementById('f').contentDocument;"
            "document.getElementById('out').textContent = 'WIDTH=' + d.documentElement.scrollWidth;});"
            "</script></body></html>", encoding="utf-8")
        done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                               f"--user-data-dir={tempfile.mkdtemp()}", "--allow-file-access-from-files",
                               "--virtual-time-budget=5000", "--dump-dom", wrapper.as_uri()],
                              capture_output=True, text=True, timeout=90)
        found = re.search(r"WIDTH=(\d+)", done.stdout)
        assert found, done.stderr[-1000:]
        out[width] = int(found.group(1))
    return out


@needs_chromium
@pytest.mark.parametrize("name, render", [("daily", stressed_daily), ("weekly", stressed_weekly)])
def test_a_digest_fits_a_phone_without_sideways_scrolling(name, render):
    html = render()
    measured = widths(html)
    assert all(width <= frame for frame, width in measured.items()), (name, measured)


def test_the_digest_reads_for_every_reader():
    html = stressed_daily()
    assert re.search(r'<html lang="en">', html) and 'name="color-scheme"' in html
    # The preheader (the inbox's preview) is the day's status line, hidden in the message.
    assert re.search(r'<div style="display:none;[^"]*">HIGH: ', html)
    assert [h.strip() for h in re.findall(r"<h2[^>]*>([^<]+)", html)][:3] == ["Alerts", "Waiting for a reply", "Negative mentions"]
    assert '<th scope="col"' in html and 'role="presentation"' not in html.split("Sources")[-1].split("</table>")[0]
    # A change says whether it is better or worse, not only in red or green.
    assert "(worse)" in html
    assert "alert</b>" in html  # the alert day in the trend says so in a word
    # Links say where they go.
    assert re.search(r'aria-label="Reply to Ana B\.\'s 1-star review on trustpilot"', html.replace("&#39;", "'"))
    # No grey on grey: the footer's text is dark enough (4.5:1 on the page's background).
    assert "#98a2b3" not in html


def contrast(foreground: str, background: str) -> float:
    def luminance(color: str) -> float:
        channels = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_every_text_colour_has_contrast_on_its_background():
    for html in (stressed_daily(), stressed_weekly()):
        # Text colours used on the white card and the grey page (the hidden preheader excepted).
        colours = set(re.findall(r"(?<![-\w])color:(#[0-9a-f]{6})", html)) - {"#f2f4f7"}
        for colour in colours:
            assert contrast(colour, "#f9fafb") >= 4.5, colour
