import os
from pathlib import Path

import pytest

from flows.config import ConfigError, load_config
from flows.smtp_env import smtp_settings_from_env

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
brands:
  - name: Acme
    sources:
      - source: hackernews
        targets: [Acme]
digest:
  sender: repwatch@acme.example
  groups:
    - name: support
      recipients: [lead@acme.example]
"""


def write(tmp_path, text):
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_example_config_is_valid():
    config = load_config(ROOT / "monitor.example.yaml")
    assert [b.name for b in config.brands] == ["Acme", "Rival"]


def test_defaults_and_relative_paths(tmp_path):
    config = load_config(write(tmp_path, GOOD))
    assert config.database == str(tmp_path / "data" / "repwatch.duckdb")
    assert (config.timezone, config.detection.sensitivity, config.backfill_days) == ("UTC", "medium", 60)


@pytest.mark.parametrize("change, message", [
    (("targets: [Acme]", "targets: [Acme]\n        colour: red"), "brands[0] (Acme).sources[0].colour: unknown key"),
    (("source: hackernews", "source: hackernwes"), "brands[0] (Acme).sources[0].source: unknown source 'hackernwes'"),
    (("    sources:\n      - source: hackernews\n        targets: [Acme]\n", ""), "brands[0] (Acme).sources: missing"),
    (("name: support", "name: sup port"), "digest.groups[0]"),
    (("recipients: [lead@acme.example]", "recipients: [nobody]"), "'nobody' is not an email address"),
    (("brands:", "timezone: Mars/Olympus\nbrands:"), "timezone: unknown time zone 'Mars/Olympus'"),
    (("brands:", "backfill_days: many\nbrands:"), "backfill_days: Input should be a valid integer"),
])
def test_bad_config_names_file_and_key(tmp_path, change, message):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3, column 1"):
        load_config(write(tmp_path, "brands:\n  - name: [unclosed\n"))
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "nope.yaml")


def test_smtp_settings_from_env_keep_password_out_of_repr():
    assert smtp_settings_from_env({}) is None
    s = smtp_settings_from_env({"SMTP_HOST": "mail.example", "SMTP_PASSWORD": "hunter2", "SMTP_USERNAME": "u"})
    assert (s.port, s.security, s.password) == (587, "starttls", "hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s)
    assert smtp_settings_from_env({"SMTP_HOST": "m", "SMTP_SECURITY": "ssl"}).port == 465
    with pytest.raises(ConfigError):
        smtp_settings_from_env({"SMTP_HOST": "m", "SMTP_PORT": "lots"})


def test_review_targets_are_checked_before_any_run():
    from flows.config import ConfigError, parse_config

    data = {"brands": [{"name": "Acme", "sources": [
        {"source": "trustpilot", "targets": ["acme.example"]},
        {"source": "appstore", "targets": ["1234567890@us", "com.acme.app"]},
    ]}], "digest": {"sender": "a@b.example", "groups": [{"name": "s", "recipients": ["c@d.example"]}]}}
    with pytest.raises(ConfigError) as err:
        parse_config(data, "monitor.yaml")
    assert str(err.value) == ("monitor.yaml: brands[0] (Acme).sources[1]: appstore target 'com.acme.app' is not "
                              "'<numeric app id>@<two-letter country>' (e.g. 284882215@us)")
    data["brands"][0]["sources"][1]["targets"] = ["1234567890@us"]
    assert parse_config(data, "monitor.yaml").brands[0].sources[1].targets == ["1234567890@us"]


def test_check_names_the_missing_credentials_before_any_run(tmp_path, monkeypatch, capsys):
    from flows.cli import main

    config = tmp_path / "monitor.yaml"
    config.write_text(GOOD.replace("sources:\n", "sources:\n      - source: bluesky\n        targets: [Acme]\n"
                                                "      - source: reddit\n        targets: [r/acme]\n", 1))
    for name in ("BLUESKY_IDENTIFIER", "BLUESKY_APP_PASSWORD", "REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "sources[0]: bluesky needs BLUESKY_IDENTIFIER, BLUESKY_APP_PASSWORD in the environment" in err
    assert "sources[1]: reddit needs REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET in the environment" in err
    monkeypatch.setenv("REDDIT_CLIENT_ID", "cid")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "csecret")
    assert main(["run", "--config", str(config)]) == 2  # a run does not start either
    monkeypatch.setenv("BLUESKY_IDENTIFIER", "acme.bsky.social")
    monkeypatch.setenv("BLUESKY_APP_PASSWORD", "xxxx-xxxx-xxxx-xxxx")
    assert main(["check", "--config", str(config)]) == 0
    assert "xxxx-xxxx" not in capsys.readouterr().out


def test_the_demo_config_runs_from_any_terminal_with_nothing_exported(tmp_path, monkeypatch):
    """README's "in another terminal" command: the demo's credentials sit beside its config, readable by its owner only."""
    import stat

    from flows.cli import main
    from flows.demo.runner import write_demo_config

    for name in list(os.environ):
        if name.startswith(("REPWATCH_DEMO_", "REDDIT_", "BLUESKY_")):
            monkeypatch.delenv(name)
    config = write_demo_config(tmp_path, "http://127.0.0.1:9")
    assert main(["check", "--config", str(config)]) == 0
    assert stat.S_IMODE((tmp_path / "demo-credentials.json").stat().st_mode) == 0o600
    (tmp_path / "demo-credentials.json").write_text("[]")
    assert main(["check", "--config", str(config)]) == 2  # a broken file is said, per source
