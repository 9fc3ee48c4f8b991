"""Delivery of pushed alerts through Apprise (Slack, Microsoft Teams, Discord, Telegram, email, JSON webhooks...).

Apprise URLs carry tokens. They are used here and nowhere else: what is said
of a target (in the store, a log line, an error) is its service's name, and
an error Apprise reports is scrubbed of every part of the URLs before it
leaves this module.
"""
from __future__ import annotations

import logging
import re
from typing import Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise


class DeliveryError(RuntimeError):
    """A push that did not go out; the message names services, never URLs or tokens.

    `maybe_delivered`: the service took the request but its answer did not come in time (a read timeout),
    so the message may have arrived: a resend must say so."""

    def __init__(self, message: str, maybe_delivered: bool = False) -> None:
        super().__init__(message)
        self.maybe_delivered = maybe_delivered


# How long a push waits for the service's answer. Apprise's own default (4 s) calls a slow webhook that did
# take the message a failure, and the next round sends it again. A URL's own `rto=` wins.
READ_TIMEOUT_SECONDS = 30.0
_TIMED_OUT = re.compile(r"read timed out|timed out|timeout", re.I)


def service_names(urls: Sequence[str]) -> str:
    """'Slack, JSON': what a list of Apprise URLs is, with nothing secret in it."""
    names = []
    for url in urls:
        probe = apprise.Apprise()
        name = probe[0].service_name if probe.add(url) else f"unrecognised ({url.split(':', 1)[0][:20]})"
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _secrets(urls: Sequence[str]) -> list[str]:
    """Every part of the URLs that might be a token: user, password, host, path segments, query values."""
    parts = set()
    for url in urls:
        parts.add(url)
        try:
            split = urlsplit(url)
        except ValueError:
            continue
        for value in (split.username, split.password, split.hostname, split.netloc,
                      *split.path.split("/"), *(v for _, v in parse_qsl(split.query))):
            if value and len(value) >= 4:
                parts.update({value, unquote(value)})
    return sorted(parts, key=len, reverse=True)


def redact(text: str, urls: Sequence[str]) -> str:
    for secret in _secrets(urls):
        text = text.replace(secret, "***")
    return re.sub(r"\w+://\S+", lambda m: m.group(0).split("://")[0] + "://***", text)


def send(urls: Sequence[str], title: str, body: str) -> None:
    """Send one message to every URL; DeliveryError (scrubbed) unless all of them took it."""
    if not urls:
        raise DeliveryError("no notify targets")
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise DeliveryError(f"not an Apprise URL: {redact(url, urls)}")
        plugin = sender[len(sender) - 1]
        if "rto=" not in url and hasattr(plugin, "socket_read_timeout"):
            plugin.socket_read_timeout = max(plugin.socket_read_timeout or 0.0, READ_TIMEOUT_SECONDS)
    logger = logging.getLogger("apprise")
    # Apprise logs as it sends; those lines stay here (scrubbed into the error), out of the run's logs.
    propagate, logger.propagate = logger.propagate, False
    try:
        with apprise.LogCapture(level=logging.DEBUG) as captured:
            ok = sender.notify(title=title, body=body)
            said = captured.getvalue()
    finally:
        logger.propagate = propagate
    if not ok:
        # Only a socket read timeout is said at DEBUG level: it decides whether the message may have arrived.
        maybe = any(_TIMED_OUT.search(line) and "read" in line.lower() for line in said.splitlines())
        warned = "\n".join(line for line in said.splitlines() if re.search(r" - (WARNING|ERROR|CRITICAL) - ", line))
        warned = re.sub(r"\d{4}-\d\d-\d\d [\d:,]+ - \w+ - ", "", warned)  # LogCapture's time and level
        reason = " ".join(warned.split())[-300:] or "the service refused it"
        if maybe:
            reason += " (no answer in time: it may have arrived)"
        raise DeliveryError(f"{service_names(urls)}: {redact(reason, urls)}", maybe_delivered=maybe)
