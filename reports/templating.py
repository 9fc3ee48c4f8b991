"""The Jinja environments the digests render with: autoescaped HTML, plain text, and the filters both use.

Everything scraped is untrusted: the HTML environment autoescapes, and the
`safe_url` filter renders only http(s) links.
"""
from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis.language import language_name
from reports.wording import safe_url, snippet


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters["snippet"] = snippet
    env.filters["language_name"] = lambda code: language_name(code or "und")
    return env


HTML = _environment(autoescape=True)
TEXT = _environment(autoescape=False)


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
