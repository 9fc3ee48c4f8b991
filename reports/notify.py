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
    """A push that did not go out; the message names services, never URLs or tokens."""


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
    logger = logging.getLogger("apprise")
    # Apprise logs as it sends; those lines stay here (scrubbed into the error), out of the run's logs.
    propagate, logger.propagate = logger.propagate, False
    try:
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = sender.notify(title=title, body=body)
            said = captured.getvalue()
    finally:
        logger.propagate = propagate
    if not ok:
        said = re.sub(r"\d{4}-\d\d-\d\d [\d:,]+ - \w+ - ", "", said)  # LogCapture's time and level
        reason = " ".join(said.split())[-300:] or "the service refused it"
        raise DeliveryError(f"{service_names(urls)}: {redact(reason, urls)}")
