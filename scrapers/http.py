"""The polite HTTP session every scraper fetches through.

One place owns the rules: a clear User-Agent, connect/read timeouts, retries
with exponential backoff that honour Retry-After on 429/503, no retry on
other 4xx, a cap on response size, robots.txt for HTML pages, and a pace per
host shared by every session in the process. What it raises when a fetch
fails (retriable or fatal) is in scrapers.http_errors.
"""
from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import requests

from scrapers.base import Page, PageMeta, parse_iso_datetime

# Query parameters or a form body: names to values (a list for a repeated name).
RequestParams = dict[str, Any]
from scrapers.http_errors import (
    RETRIABLE_STATUS, FatalHTTPError, RetriableHTTPError, SourceTimeLimit, redact_url,
)

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "repwatch/0.1 (+https://github.com/repwatch/repwatch; reputation monitor)"
@dataclass(frozen=True)
class HttpSettings:
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_retries: int = 4
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    pace_seconds: float = 1.0
    respect_robots: bool = True
    # Wall-clock time (time.time()) by which the whole fetch of a source must end, retries included.
    deadline: float | None = None


class _HostPacer:
    """At most one request per `interval` seconds to a host, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def wait(self, host: str, interval: float, sleep: Callable[[float], None]) -> None:
        if interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, 0.0))
            self._next_slot[host] = slot + interval
        if slot > now:
            sleep(slot - now)


_PACER = _HostPacer()


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PoliteSession:
    """GETs that follow the rules above and return a `Page`."""

    def __init__(
        self,
        settings: HttpSettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.settings = settings or HttpSettings()
        self._sleep = sleep
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = self.settings.user_agent
        self._robots: dict[str, RobotFileParser | None] = {}

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "PoliteSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        html_page: bool = False,
        meta: PageMeta | None = None,
    ) -> Page:
        """Fetch `url`; 200 and 304 give a Page, anything else raises HTTPError.

        `html_page` marks a page a crawler would read, so robots.txt applies;
        documented APIs and feeds are meant for programs and skip that check.
        """
        if params:
            url = requests.Request("GET", url, params=params).prepare().url or url
        if html_page and self.settings.respect_robots and not self._robots_allow(url):
            raise FatalHTTPError(f"robots.txt disallows {redact_url(url)}", url)
        return self._with_retries("GET", url, None, headers, meta)

    def post(
        self,
        url: str,
        *,
        data: Mapping[str, Any] | None = None,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        meta: PageMeta | None = None,
    ) -> Page:
        """POST a form (`data`: an RPC such as Google Play's) or JSON (`json_body`: a login) under the rules of `get`."""
        if params:
            url = requests.Request("POST", url, params=params).prepare().url or url
        body: Any = dict(data) if data is not None else None
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            headers = {"Content-Type": "application/json", **(headers or {})}
        return self._with_retries("POST", url, body, headers, meta)

    def _with_retries(
        self, method: str, url: str, data: RequestParams | bytes | None, headers: Mapping[str, str] | None,
        meta: PageMeta | None,
    ) -> Page:
        attempt = 0
        while True:
            attempt += 1
            self._check_deadline(url, 0.0)
            try:
                return self._send_once(url, headers, meta or {}, method=method, data=data)
            except RetriableHTTPError as exc:
                retry_after = getattr(exc, "retry_after", None)
                # Waiting longer than we are willing to inside one fetch: leave it
                # to the task's own retry, minutes later.
                if attempt > self.settings.max_retries or (retry_after or 0) > self.settings.backoff_max:
                    raise
                delay = self._backoff(attempt, retry_after)
                self._check_deadline(url, delay, after=str(exc))
                log.info("retrying %s in %.1fs after: %s", redact_url(url), delay, exc)
                self._sleep(delay)

    def respect_rate_limit(self, page: Page, remaining: str, reset: str, reset_is: str, why: str) -> None:
        """When a site's rate-limit headers say no requests are left, wait for the reset (see `pause`).

        `reset_is` says how the site writes the reset: "seconds" from now (Reddit),
        "epoch" seconds (Bluesky) or an "iso" time (Mastodon). Missing or odd headers change nothing.
        """
        left, when = page.headers.get(remaining.lower()), page.headers.get(reset.lower())
        try:
            if left is None or when is None or float(left) >= 1:
                return
            if reset_is == "seconds":
                wait = float(when)
            elif reset_is == "epoch":
                wait = float(when) - time.time()
            else:
                wait = parse_iso_datetime(when, f"{reset} from {redact_url(page.url)}").timestamp() - time.time()
        except (TypeError, ValueError):  # ParseError is a ValueError: an odd header changes nothing
            return
        if wait > 0:
            self.pause(wait, page.url, why)

    def pause(self, seconds: float, url: str, why: str) -> None:
        """Wait as a site asks (a rate-limit reset); a wait longer than we keep a fetch open is left to the task's retry."""
        if seconds > self.settings.backoff_max:
            raise RetriableHTTPError(f"{why}: {redact_url(url)} asks to wait {seconds:.0f} s", url)
        self._check_deadline(url, seconds, after=why)
        self._sleep(seconds)

    def _check_deadline(self, url: str, wait: float, after: str = "") -> None:
        deadline = self.settings.deadline
        if deadline is not None and time.time() + wait >= deadline:
            reason = f" after: {after}" if after else ""
            raise SourceTimeLimit(f"gave up on {redact_url(url)}: the source's time limit ran out{reason}", url)

    def _read_timeout(self) -> float:
        """The read timeout, shortened so that one slow answer cannot outlast the source's time limit."""
        if self.settings.deadline is None:
            return self.settings.read_timeout
        return max(0.1, min(self.settings.read_timeout, self.settings.deadline - time.time()))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        delay = self.settings.backoff_base * (2 ** (attempt - 1))
        return min(self.settings.backoff_max, delay * (0.5 + random.random() / 2))

    def _send_once(
        self, url: str, headers: Mapping[str, str] | None, meta: PageMeta, *, method: str = "GET",
        data: RequestParams | bytes | None = None,
    ) -> Page:
        host = urlsplit(url).netloc
        _PACER.wait(host, self.settings.pace_seconds, self._sleep)
        safe_url = redact_url(url)
        try:
            response = self._session.request(
                method,
                url,
                data=data,
                headers=dict(headers or {}),
                timeout=(self.settings.connect_timeout, self._read_timeout()),
                stream=True,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableHTTPError(f"{type(exc).__name__} fetching {safe_url}", url) from None
        except requests.TooManyRedirects:
            raise FatalHTTPError(f"redirect loop: more than {self._session.max_redirects} redirects from {safe_url}",
                                 url) from None
        except requests.RequestException as exc:  # a malformed URL or answer: asking again gives the same
            raise FatalHTTPError(f"{type(exc).__name__} fetching {safe_url}: {exc}", url) from None
        with response:
            status = response.status_code
            if status in RETRIABLE_STATUS:
                err = RetriableHTTPError(f"HTTP {status} from {safe_url}", url, status)
                err.retry_after = (  # type: ignore[attr-defined]
                    _retry_after_seconds(response.headers.get("Retry-After")) if status in (429, 503) else None
                )
                raise err
            if status >= 400:
                raise FatalHTTPError(f"HTTP {status} from {safe_url}", url, status)
            body = b"" if status == 304 else self._read_capped(response, safe_url)
            return Page(
                url=response.url or url,
                status=status,
                body=body,
                headers={k.lower(): v for k, v in response.headers.items()},
                meta=meta,
            )

    def _read_capped(self, response: requests.Response, safe_url: str) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise FatalHTTPError(f"response from {safe_url} is {declared} bytes, over the {limit}-byte cap", safe_url)
        chunks, size = [], 0
        try:
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise FatalHTTPError(f"response from {safe_url} exceeds the {limit}-byte cap", safe_url)
                chunks.append(chunk)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            # A connection cut mid-body (IncompleteRead) is network trouble like any other.
            raise RetriableHTTPError(f"{type(exc).__name__} reading {safe_url}", safe_url) from None
        return b"".join(chunks)

    def _robots_allow(self, url: str) -> bool:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self._robots:
            self._robots[root] = self._load_robots(root)
        parser = self._robots[root]
        return True if parser is None else parser.can_fetch(self.settings.user_agent, url)

    def _load_robots(self, root: str) -> RobotFileParser | None:
        parser = RobotFileParser(root + "/robots.txt")
        try:
            page = self._send_once(root + "/robots.txt", None, {})
        except FatalHTTPError as exc:
            if exc.status in (401, 403):
                parser.disallow_all = True  # the convention robotparser itself follows
                return parser
            return None  # 404 and friends: no rules
        except RetriableHTTPError:
            return None
        parser.parse(page.text().splitlines())
        return parser
