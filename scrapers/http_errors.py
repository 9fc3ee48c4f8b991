"""What a fetch that failed raises, retriable or fatal, and URLs as they may be shown (secrets redacted).

The polite session (scrapers.http) raises these; the flows decide on them:
a retriable error is tried again later, a fatal one fails the source at once.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_SECRET_PARAMS = frozenset({"token", "access_token", "api_key", "apikey", "key", "secret", "password", "sig"})


class HTTPError(Exception):
    """A fetch that did not produce a usable page."""

    def __init__(self, message: str, url: str, status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class RetriableHTTPError(HTTPError):
    """Worth trying again later (server trouble, rate limit, network)."""


class FatalHTTPError(HTTPError):
    """Trying again will not help (4xx, too large, robots.txt says no)."""


class CredentialsRefused(FatalHTTPError):
    """The site said no to our credentials: fixing them is the user's job, retrying will not help."""


class SourceTimeLimit(FatalHTTPError):
    """The source's whole fetch ran out of its time: a dead or crawling site must not hold the run."""


def redact_url(url: str) -> str:
    """The URL with credentials and secret query values blanked, for logs and errors."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = urlencode(
        [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
