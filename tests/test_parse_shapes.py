"""Garbage in, ParseError out: every value of a real page replaced by one of another type.

A changed site sends valid JSON whose values have the wrong type (null, a
list or an object where a string was, a string where a number was). The
parser seam (`parse_page`) must turn that into a ParseError naming the page,
which the run shows as one FAILED line, never a traceback and minutes of retries.
"""
import copy
import dataclasses
import json
import re
from pathlib import Path

import pytest

from analysis import store
from scrapers.base import Page, ParseError
from scrapers.parsing import parse_page
from scrapers.registry import scraper_class

FIXTURES = Path(__file__).parent / "fixtures"
WRONG = (None, [], {}, "x", 7)
CREDENTIALS = {"reddit": {"client_id": "a", "client_secret": "b"},
               "bluesky": {"identifier": "a", "app_password": "b"}}
NEXT_DATA = re.compile(r'(<script id="__NEXT_DATA__" type="application/json">)(.*?)(</script>)', re.S)
CASES = [("hackernews", "search_by_date-page0.json"), ("mastodon", "tag-timeline-page1.json"),
         ("reddit", "new-page1.json"), ("reddit", "comments.json"), ("bluesky", "search-page1.json"),
         ("appstore", "feed-page1.json"), ("appstore", "user-reviews-row.json"), ("trustpilot", "review-page1.html")]


def paths(node, prefix=()):
    """Every place in a JSON document (the first three items of each list)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            yield from paths(value, prefix + (i,))


def replaced(document, path, value):
    if not path:
        return value
    out = copy.deepcopy(document)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def variants(source: str, name: str):
    """(where, body) for each place of the fixture's JSON, each with each value of the wrong type."""
    text = (FIXTURES / source / name).read_text(encoding="utf-8")
    match = NEXT_DATA.search(text)
    document = json.loads(match.group(2) if match else text)
    for path in list(paths(document))[:300]:
        for value in WRONG:
            body = json.dumps(replaced(document, path, value))
            if match:
                body = text[:match.start(2)] + body + text[match.end(2):]
            yield f"{'/'.join(map(str, path))} = {value!r}", body.encode()


@pytest.mark.parametrize("source, name", CASES)
def test_a_value_of_another_type_is_a_parse_error_never_a_traceback(source, name):
    scraper = scraper_class(source)(http=None, **({"credentials": CREDENTIALS[source]} if source in CREDENTIALS else {}))
    escaped, tried, read = [], 0, []
    for where, body in variants(source, name):
        tried += 1
        page = Page(url=f"https://example.com/{source}?page=1", status=200, body=body,
                    meta={"target": "Acme", "kind": "posts", "page": 1})
        try:
            parsed = parse_page(scraper, page)
        except ParseError as exc:
            assert str(exc).startswith("https://example.com/") or source in str(exc)
        except Exception as exc:  # noqa: BLE001 - what the test is for
            escaped.append(f"{where}: {type(exc).__name__}: {exc}")
        else:
            assert all("https://example.com/" in line for line in parsed.skipped), parsed.skipped  # each names its page
            read += [dataclasses.replace(m, external_id=f"{tried}:{m.external_id}") for m in parsed]
    assert tried > 50
    assert escaped == []
    # What was read stores, every variant's mentions in one bulk write: no value of another type gets that far.
    with store.connection(":memory:") as con:
        saved = store.save_mentions(con, "Acme", source, "Acme", [dataclasses.asdict(m) for m in read], run_id="r")
    assert saved.new == len({(m.source, m.external_id) for m in read})


def test_the_seam_names_the_page_and_the_shape():
    class Careless:
        def parse(self, page):
            return [page.body.decode().upper()["title"]]  # a str where a dict was

    with pytest.raises(ParseError, match=r"https://example.com/x: not the shape this parser reads \(TypeError"):
        parse_page(Careless(), Page(url="https://example.com/x", status=200, body=b"{}"))


# Random damage to every kind of page a source reads: bytes flipped, inserted or cut, pages truncated.
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

BYTE_CASES = [(source, FIXTURES / source / name) for source, name in CASES] + [
    ("feed", FIXTURES / "feeds" / "google-alerts.atom"), ("feed", FIXTURES / "feeds" / "google-news.rss"),
    ("googleplay", FIXTURES / "googleplay" / "batchexecute-page1.txt"),
    ("schemaorg", FIXTURES / "schemaorg" / "product-jsonld.html"),
    ("schemaorg", FIXTURES / "schemaorg" / "product-microdata.html"),
    ("schemaorg", FIXTURES / "schemaorg" / "business-rdfa.html")]


def _scraper(source: str):
    return scraper_class(source)(http=None, **({"credentials": CREDENTIALS[source]} if source in CREDENTIALS else {}))


def _parse_or_parse_error(source: str, body: bytes) -> None:
    page = Page(url=f"https://example.com/{source}?page=1", status=200, body=body,
                meta={"target": "Acme", "kind": "posts", "page": 1, "app_id": "com.acme", "token": None})
    try:
        parse_page(_scraper(source), page)
    except ParseError:
        pass


@st.composite
def damaged(draw):
    source, path = draw(st.sampled_from(BYTE_CASES))
    body = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(0, len(body) - 1)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if action == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif action == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del body[at:at + draw(st.integers(1, 64))]
        else:
            del body[at:]
    return source, bytes(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(damaged())
def test_damaged_real_pages_are_a_parse_error_never_a_traceback(case):
    source, body = case
    _parse_or_parse_error(source, body)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.sampled_from(sorted({s for s, _ in BYTE_CASES})), st.binary(max_size=2048))
def test_random_bytes_are_a_parse_error_never_a_traceback(source, body):
    _parse_or_parse_error(source, body)
