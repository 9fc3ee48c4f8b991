"""The Jinja environments the digests render with: autoescaped HTML, plain text, and the filters both use.

Everything scraped is untrusted: the HTML environment autoescapes, and the
`safe_url` filter renders only http(s) links.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from analysis.sentiment.language import language_name
from analysis.sentiment.scoring import title_adds
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
    env.tests["adding_to"] = title_adds  # {% if r.title is adding_to(r.text) %}: a title the text does not hold
    return env


# What a template reads: names -> plain display values (strings, numbers, lists of rows). StrictUndefined
# makes a misspelt name fail the render, in the tests, not in an inbox.
DigestContext = dict[str, Any]
# One row a template iterates over (a tile, an alert, a table line): names -> display values.
TemplateRow = dict[str, Any]

HTML = _environment(autoescape=True)
TEXT = _environment(autoescape=False)


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    html: str
    text: str
