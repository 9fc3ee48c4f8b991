"""What real servers do wrong, against real local sockets: every fault maps onto retriable, fatal or ParseError."""
import json
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug import Response

from scrapers.base import Page, ParseError
from scrapers.feeds import FeedScraper
from scrapers.hackernews import HackerNewsScraper
from scrapers.http import HttpSettings, PoliteSession
from scrapers.http_errors import FatalHTTPError, RetriableHTTPError

from conftest import fixture_bytes


def session(**overrides):
    sleeps = []
    settings = HttpSettings(**{"pace_seconds": 0, "max_retries": 3, "backoff_base": 0.01, **overrides})
    return PoliteSession(settings, sleep=sleeps.append), sleeps


@contextmanager
def raw_server(answer: bytes, times: int = 10):
    """A socket server that reads a request and writes `answer` as is, then closes: for faults HTTP servers avoid."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(5)

    def serve():
        for _ in range(times):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:  # the client gave up first: what these faults are about
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_connection_reset_mid_body_is_retriable():
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"hits\": [{\"objectID\""
    http, sleeps = session(max_retries=2)
    with raw_server(cut) as url:
        with pytest.raises(RetriableHTTPError, match="reading"):
            http.get(url + "/search")
    assert len(sleeps) == 2  # tried three times


def test_read_timeout_is_retriable(httpserver):
    httpserver.expect_request("/slow").respond_with_handler(lambda r: (time.sleep(0.3), Response("late"))[1])
    http, sleeps = session(read_timeout=0.1, max_retries=1)
    with pytest.raises(RetriableHTTPError, match="ReadTimeout"):
        http.get(httpserver.url_for("/slow"))
    assert len(sleeps) == 1
    time.sleep(0.4)  # let the server finish the requests we gave up on, so the next test finds it idle


def test_503_burst_then_recovery(httpserver):
    calls = []

    def flaky(request):
        calls.append(1)
        return Response("busy", status=503) if len(calls) <= 3 else Response("ok")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    http, sleeps = session()
    assert http.get(httpserver.url_for("/flaky")).body == b"ok"
    assert len(calls) == 4 and len(sleeps) == 3


def test_500_forever_gives_up_after_the_retries(httpserver):
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    http, sleeps = session(max_retries=3)
    with pytest.raises(RetriableHTTPError, match="HTTP 500"):
        http.get(httpserver.url_for("/broken"))
    assert len(httpserver.log) == 4 and len(sleeps) == 3


def test_a_redirect_loop_is_fatal(httpserver):
    httpserver.expect_request("/a").respond_with_response(Response("", status=302, headers={"Location": "/b"}))
    httpserver.expect_request("/b").respond_with_response(Response("", status=302, headers={"Location": "/a"}))
    http, sleeps = session()
    with pytest.raises(FatalHTTPError, match="redirect"):
        http.get(httpserver.url_for("/a"))
    assert sleeps == []


def test_truncated_json_and_html_instead_of_json_are_parse_errors(httpserver):
    body = fixture_bytes("hackernews", "search_by_date-page0.json")
    httpserver.expect_request("/api/search_by_date").respond_with_data(body[: len(body) // 2],
                                                                       content_type="application/json")
    scraper = HackerNewsScraper(base_url=httpserver.url_for("/api"), http=session()[0])
    with pytest.raises(ParseError, match="not JSON"):
        list(scraper.parse(next(iter(scraper.pages("Acme", None, {})))))
    with pytest.raises(ParseError, match="not JSON"):
        list(scraper.parse(Page("http://x", 200, b"<!doctype html><title>Just a moment...</title>")))


def test_a_wrongly_declared_encoding_does_not_garble_the_text(httpserver):
    hit = {"objectID": "1", "created_at_i": 1795467600, "_tags": ["story"], "title": "Café Acme délivre", "author": "a"}
    httpserver.expect_request("/api/search_by_date").respond_with_data(
        json.dumps({"hits": [hit], "nbPages": 1, "nbHits": 1}, ensure_ascii=False).encode("utf-8"),
        content_type="application/json; charset=iso-8859-1")  # says Latin-1, sends UTF-8
    scraper = HackerNewsScraper(base_url=httpserver.url_for("/api"), http=session()[0])
    (m,) = [m for p in scraper.pages("Acme", None, {}) for m in scraper.parse(p)]
    assert m.title == "Café Acme délivre"


def test_a_feed_in_latin1_declared_in_its_xml_is_read_right(httpserver):
    feed = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title>'
            "<item><title>Acme a livré en retard</title><link>https://a.example/1</link>"
            "<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item></channel></rss>").encode("iso-8859-1")
    httpserver.expect_request("/f.xml").respond_with_data(feed, content_type="application/rss+xml")
    scraper = FeedScraper(base_url=httpserver.url_for("/"), http=session()[0])
    (m,) = [m for p in scraper.pages("f.xml", None, {}) for m in scraper.parse(p)]
    assert m.title == "Acme a livré en retard"


def test_a_body_over_the_cap_is_fatal_even_without_a_content_length():
    chunks = b"".join(b"%x\r\n%s\r\n" % (1024, b"x" * 1024) for _ in range(8)) + b"0\r\n\r\n"
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" + chunks
    http, sleeps = session(max_bytes=4096)
    with raw_server(answer) as url:
        with pytest.raises(FatalHTTPError, match="exceeds the 4096-byte cap"):
            http.get(url + "/big")
    assert sleeps == []
