"""Sources are plugins: a package that declares a `repwatch.sources` entry point adds a source, no change here."""
import textwrap

import pytest

from flows.config import parse_config
from scrapers.base import Page
from scrapers.registry import get_scraper, scraper_class, scraper_names

PLUGIN = '''
from datetime import datetime, timezone
from scrapers.base import Mention, ParseError

class AcmeBlogScraper:
    name = "acmeblog"

    def __init__(self, base_url="https://blog.example", http=None, per_page=10):
        self.base_url, self.per_page = base_url, per_page

    def pages(self, target, since, state):
        return iter(())

    def parse(self, page):
        if not page.body.startswith(b"post:"):
            raise ParseError("acmeblog: not a post")
        return [Mention("acmeblog", "1", datetime(2026, 11, 24, tzinfo=timezone.utc), page.body[5:].decode())]

class Misnamed(AcmeBlogScraper):
    name = "something-else"

class NoParser:
    name = "noparser"

    def pages(self, target, since, state):
        return iter(())

from scrapers.base import Source

class HalfDone(Source):
    name = "halfdone"

    def parse(self, page):
        return []
'''


def install_plugin(root, entry_points: str) -> None:
    """A package and its dist-info on sys.path: importlib.metadata finds it as it finds an installed one."""
    (root / "acme_source").mkdir()
    (root / "acme_source" / "__init__.py").write_text(PLUGIN)
    info = root / "acme_source-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-source\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))


def test_an_installed_package_adds_a_source(tmp_path, monkeypatch):
    install_plugin(tmp_path, """\
        [repwatch.sources]
        acmeblog = acme_source:AcmeBlogScraper
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "acmeblog" in scraper_names() and "hackernews" in scraper_names()
    scraper = get_scraper("acmeblog")
    (m,) = scraper.parse(Page("https://blog.example/1", 200, b"post:Acme is great"))
    assert (m.source, m.text) == ("acmeblog", "Acme is great")
    # It does not subclass Source: the optional hooks are the contract's defaults.
    assert scraper.aggregate(Page("https://blog.example/1", 200, b"")) is None
    assert scraper_class("acmeblog").credentials_for(["x"]) == () and scraper_class("acmeblog").default_base_url is None
    assert scraper_class("acmeblog") is scraper_class("acmeblog")  # adapted once, whatever the lookups
    config = parse_config({
        "brands": [{"name": "Acme", "sources": [{"source": "acmeblog", "targets": ["x"], "options": {"per_page": 5}}]}],
        "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]},
    })
    assert config.brands[0].sources[0].options == {"per_page": 5}


def test_a_broken_or_misnamed_plugin_is_a_clear_error(tmp_path, monkeypatch):
    install_plugin(tmp_path, """\
        [repwatch.sources]
        broken = acme_source.missing:Nothing
        misnamed = acme_source:Misnamed
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=r"source 'broken' \(acme_source.missing:Nothing\) could not be loaded"):
        scraper_class("broken")
    with pytest.raises(TypeError, match="entry point's name and the class's `name` must agree"):
        scraper_class("misnamed")
    assert scraper_class("feed").name == "feed"  # the others still work
    from flows.config import ConfigError

    with pytest.raises(ConfigError, match=r"sources\[0\]: source 'broken' .* could not be loaded"):
        parse_config({"brands": [{"name": "Acme", "sources": [{"source": "broken", "targets": ["x"]}]}],
                      "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}})


def test_a_plugin_missing_a_required_hook_is_refused_naming_it(tmp_path, monkeypatch):
    install_plugin(tmp_path, """\
        [repwatch.sources]
        noparser = acme_source:NoParser
        halfdone = acme_source:HalfDone
        """)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match=r"source 'noparser' \(acme_source:NoParser\) lacks the required hook\(s\) parse"):
        scraper_class("noparser")
    with pytest.raises(TypeError, match=r"source 'halfdone' .* lacks the required hook\(s\) pages"):
        scraper_class("halfdone")
    from flows.config import ConfigError

    with pytest.raises(ConfigError, match=r"sources\[0\]: source 'noparser' .* lacks the required hook\(s\) parse"):
        parse_config({"brands": [{"name": "Acme", "sources": [{"source": "noparser", "targets": ["x"]}]}],
                      "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}})
