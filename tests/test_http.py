"""The polite session against a real local HTTP server."""
import pytest
from werkzeug import Response

from scrapers.http import HttpSettings, PoliteSession
from scrapers.http_errors import FatalHTTPError, RetriableHTTPError, redact_url


def session(**overrides):
    sleeps = []
    settings = HttpSettings(pace_seconds=0, max_retries=3, backoff_base=0.01, **overrides)
    return PoliteSession(settings, sleep=sleeps.append), sleeps


def test_sends_user_agent_and_returns_page(httpserver):
    httpserver.expect_request("/ok", headers={"User-Agent": "repwatch-test/1"}).respond_with_data("hi", headers={"ETag": '"x"'})
    http, _ = session(user_agent="repwatch-test/1")
    page = http.get(httpserver.url_for("/ok"))
    assert (page.status, page.body, page.headers["etag"]) == (200, b"hi", '"x"')


def test_429_honours_retry_after_then_succeeds(httpserver):
    httpserver.expect_ordered_request("/limited").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "7"}))
    httpserver.expect_ordered_request("/limited").respond_with_data("done")
    http, sleeps = session()
    assert http.get(httpserver.url_for("/limited")).body == b"done"
    assert sleeps == [7.0]
    assert len(httpserver.log) == 2


def test_500_recovers_with_backoff(httpserver):
    for _ in range(2):
        httpserver.expect_ordered_request("/flaky").respond_with_data("oops", status=500)
    httpserver.expect_ordered_request("/flaky").respond_with_data("fine")
    http, sleeps = session()
    assert http.get(httpserver.url_for("/flaky")).body == b"fine"
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] * 0.5  # exponential, with jitter


def test_503_gives_up_after_max_retries(httpserver):
    httpserver.expect_request("/down").respond_with_data("down", status=503)
    http, sleeps = session()
    with pytest.raises(RetriableHTTPError, match="HTTP 503"):
        http.get(httpserver.url_for("/down"))
    assert len(httpserver.log) == 4 and len(sleeps) == 3


def test_retry_after_longer_than_we_wait_is_left_to_the_task(httpserver):
    httpserver.expect_request("/later").respond_with_response(Response("", status=429, headers={"Retry-After": "3600"}))
    http, sleeps = session()
    with pytest.raises(RetriableHTTPError):
        http.get(httpserver.url_for("/later"))
    assert sleeps == [] and len(httpserver.log) == 1


def test_404_is_fatal_and_not_retried(httpserver):
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    http, sleeps = session()
    with pytest.raises(FatalHTTPError) as err:
        http.get(httpserver.url_for("/gone"))
    assert err.value.status == 404 and sleeps == [] and len(httpserver.log) == 1


def test_response_size_is_capped(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000)
    http, _ = session(max_bytes=1000)
    with pytest.raises(FatalHTTPError, match="cap"):
        http.get(httpserver.url_for("/big"))


def test_robots_txt_applies_to_html_pages_only(httpserver):
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n")
    httpserver.expect_request("/private/page").respond_with_data("<html></html>")
    http, _ = session()
    with pytest.raises(FatalHTTPError, match="robots.txt"):
        http.get(httpserver.url_for("/private/page"), html_page=True)
    assert http.get(httpserver.url_for("/private/page")).status == 200  # an API/feed fetch is not crawling


def test_pace_spaces_requests_to_one_host(httpserver):
    httpserver.expect_request("/p").respond_with_data("x")
    sleeps = []
    http = PoliteSession(HttpSettings(pace_seconds=0.2), sleep=sleeps.append)
    http.get(httpserver.url_for("/p"))
    http.get(httpserver.url_for("/p"))
    assert sleeps and 0 < sleeps[-1] <= 0.2


def test_redact_url_hides_credentials():
    assert redact_url("https://user:pw@api.example.com/x?q=acme&access_token=SECRET") == (
        "https://api.example.com/x?q=acme&access_token=%2A%2A%2A")


def test_post_sends_the_form_and_follows_the_same_retry_rules(httpserver):
    bodies = []

    def record(request):
        bodies.append(request.form.to_dict())
        return Response("busy", status=503, headers={"Retry-After": "2"}) if len(bodies) == 1 else Response(")]}'\n[]")

    httpserver.expect_request("/rpc", method="POST", query_string={"hl": "en"}).respond_with_handler(record)
    http, sleeps = session()
    page = http.post(httpserver.url_for("/rpc"), data={"f.req": '[["x"]]'}, params={"hl": "en"})
    assert page.body == b")]}'\n[]" and sleeps == [2.0]
    assert bodies == [{"f.req": '[["x"]]'}] * 2
    httpserver.expect_request("/gone", method="POST").respond_with_data("no", status=404)
    with pytest.raises(FatalHTTPError, match="HTTP 404"):
        http.post(httpserver.url_for("/gone"), data={})


def test_a_crawling_site_is_given_up_within_the_sources_time_limit(httpserver):
    import time

    from scrapers.http_errors import SourceTimeLimit

    def crawl(request):
        time.sleep(0.6)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(crawl)
    settings = HttpSettings(pace_seconds=0, max_retries=50, backoff_base=0.05, read_timeout=0.3,
                            deadline=time.time() + 1.5)
    http = PoliteSession(settings)
    started = time.monotonic()
    with pytest.raises(SourceTimeLimit, match="time limit ran out after: ReadTimeout"):
        http.get(httpserver.url_for("/slow"))
    assert time.monotonic() - started < 2.5  # not 50 retries of 0.3 s plus backoff
    assert isinstance(SourceTimeLimit("x", "u"), FatalHTTPError)  # never retried by the task either
    time.sleep(0.7)  # let the server finish the request we gave up on, so the next test finds it idle


def test_a_dead_host_fails_at_once_once_the_limit_has_passed():
    import time

    from scrapers.http_errors import SourceTimeLimit

    http = PoliteSession(HttpSettings(pace_seconds=0, deadline=time.time() - 1))
    with pytest.raises(SourceTimeLimit, match="gave up on http://127.0.0.1:9/x"):
        http.get("http://127.0.0.1:9/x")
