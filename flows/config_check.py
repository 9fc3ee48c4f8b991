"""What `repwatch check` says of a valid config: the credentials and push targets it cannot read (never their values)."""
from __future__ import annotations

from flows.config import MonitorConfig
from flows.credentials import MissingCredentials, notify_urls, resolve
from scrapers.registry import scraper_class


def missing_credentials(config: MonitorConfig, env: dict[str, str] | None = None) -> list[str]:
    """One line per source entry whose credentials are missing, with its key path: what `repwatch check` says."""
    lines = []
    for b, brand in enumerate(config.brands):
        for s, src in enumerate(brand.sources):
            try:
                resolve(src.source, scraper_class(src.source), src.credentials, env, tuple(src.targets))
            except MissingCredentials as exc:
                lines.append(f"brands[{b}] ({brand.name}).sources[{s}]: {exc}")
    return lines


def missing_notify(config: MonitorConfig, env: dict[str, str] | None = None) -> list[str]:
    """One line per group whose push targets cannot be read: what `repwatch check` says (never the URLs)."""
    lines = []
    for g, group in enumerate(config.digest.groups):
        if group.notify is None:
            continue
        try:
            notify_urls(group.notify.env, group.notify.block, group.notify.file, env)
        except MissingCredentials as exc:
            lines.append(f"digest.groups[{g}] ({group.name}).notify: {exc}")
    return lines
