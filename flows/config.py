"""monitor.yaml: the one config file, validated, with one clear message on error.

Secrets never live here: SMTP and API credentials come from environment
variables (flows.smtp_env) and are never logged; what `repwatch check` says of
them is flows.config_check.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from flows.config_digest import DigestConfig, RecipientGroup
from flows.config_fields import Strict, known_zone
from flows.credentials import CredentialsConfig
from pydantic import Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


class SourceConfig(Strict):
    source: str = Field(description="a registered scraper name: hackernews, feed")
    targets: list[str] = Field(min_length=1, description="queries or URLs, as the source understands them")
    base_url: str | None = Field(default=None, description="API root, for a self-hosted or test server")
    options: dict[str, Any] = Field(default_factory=dict, description="scraper-specific settings")
    credentials: CredentialsConfig | None = Field(default=None, description="where the source's secrets come from")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        from scrapers.registry import is_source, scraper_names

        if not is_source(value):
            raise ValueError(f"unknown source {value!r}; known: {', '.join(scraper_names())}")
        return value

    @model_validator(mode="after")
    def _known_options(self) -> "SourceConfig":
        import inspect

        from scrapers.registry import scraper_class

        try:
            cls = scraper_class(self.source)
        except (ImportError, TypeError) as exc:  # a broken plugin: said as a config error, with its reason
            raise ValueError(str(exc)) from None
        accepted = set(inspect.signature(cls).parameters) - {"self", "http", "base_url", "credentials"}
        unknown = sorted(set(self.options) - accepted)
        if unknown:
            raise ValueError(f"options for {self.source} do not include {unknown}; known: {sorted(accepted)}")
        for target in self.targets:
            cls.check_target(target)  # its ValueError names the target and the form the source expects
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value


class BrandConfig(Strict):
    name: str = Field(min_length=1)
    terms: list[str] = Field(default_factory=list, description="the brand's names, left out of themes")
    competitor: bool = False
    sources: list[SourceConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_target_once(self) -> "BrandConfig":
        """A brand's target keeps one cursor and one health line per source: listed twice (say, one hashtag
        on two Mastodon instances), the two fetches would share them, and one's failure would hide."""
        seen: dict[tuple[str, str], int] = {}
        for i, block in enumerate(self.sources):
            for target in block.targets:
                key = (block.source, target.strip())
                if key in seen:
                    where = "twice in this block" if seen[key] == i else f"also in sources[{seen[key]}]"
                    hint = (" For one hashtag on two instances, name the instance in the target: "
                            f"'{target.strip()}@fosstodon.org'." if block.source == "mastodon" else "")
                    raise ValueError(f"sources[{i}]: {block.source} target {target.strip()!r} is {where}: a target "
                                     "keeps one cursor and one health line, so two fetches of it would share them "
                                     f"and hide a failure.{hint}")
                seen[key] = i
        return self


class DetectionConfig(Strict):
    bucket: Literal["hour", "day"] = "hour"
    sensitivity: Literal["low", "medium", "high"] = "medium"
    history_days: int = Field(default=56, ge=7, le=730)

    @property
    def bucket_seconds(self) -> int:
        return 3600 if self.bucket == "hour" else 86400


class WatchConfig(Strict):
    cron: str = Field(default="*/15 * * * *", description="how often the watch deployment runs (config time zone)")
    escalation_factor: float = Field(default=10.0, gt=1, description="a pushed incident is pushed again at this step")


class SentimentConfig(Strict):
    model: Literal["learned", "vader"] = Field(
        default="learned", description="learned: made for text addressed to a brand; vader: the classic lexicon")


class HttpConfig(Strict):
    user_agent: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    pace_seconds: float = Field(default=1.0, ge=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    source_seconds: float = Field(default=300, gt=0, description="a source's whole fetch, retries included, ends by then")


class EngineConfig(Strict):
    """Where fetch and parse run: threads in this process, or a Dask cluster (local processes or an address)."""

    kind: Literal["threads", "dask"] = "threads"
    workers: int = Field(default=2, ge=1, le=512, description="dask: the local cluster's worker processes")
    threads: int = Field(default=4, ge=1, le=256,
                         description="dask: threads per local worker, so one host's wait overlaps another's work")
    address: str | None = Field(default=None, pattern=r"^(tcp|tls|ucx|inproc)://\S+$",
                                description="dask: an existing scheduler (tcp://host:8786) instead of a local cluster")
    staging: str | None = Field(default=None, min_length=1,
                                description="dask: where workers leave results for the writer, any fsspec URL "
                                            "(s3://...); default: a staging folder beside the database")

    @model_validator(mode="after")
    def _address_for_dask(self) -> "EngineConfig":
        if self.address and self.kind != "dask":
            raise ValueError("address is for kind: dask")
        return self


class MonitorConfig(Strict):
    timezone: str = "UTC"
    database: str = "data/repwatch.duckdb"
    outbox: str = "outbox"
    backfill_days: int = Field(default=60, ge=1, le=3650, description="how far back a source's first fetch goes")
    lock_wait_seconds: float = Field(default=600, ge=0, description="how long a run waits for another on the same database")
    brands: list[BrandConfig] = Field(min_length=1)
    digest: DigestConfig
    detection: DetectionConfig = DetectionConfig()
    sentiment: SentimentConfig = SentimentConfig()
    watch: WatchConfig = WatchConfig()
    http: HttpConfig = HttpConfig()
    engine: EngineConfig = EngineConfig()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _names_agree(self) -> "MonitorConfig":
        names = [b.name for b in self.brands]
        if len(set(names)) != len(names):
            raise ValueError(f"brand names must be unique: {names}")
        for group in self.digest.groups:
            unknown = set(group.brands or []) - set(names)
            if unknown:
                raise ValueError(f"digest group {group.name!r} names unknown brands: {sorted(unknown)}")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def staging_url(self) -> str:
        """Where this database's cluster runs stage results: one folder per database, even on a shared URL."""
        import hashlib

        key = f"{Path(self.database).stem}-{hashlib.sha256(self.database.encode()).hexdigest()[:8]}"
        return f"{(self.engine.staging or str(Path(self.database).parent / 'staging')).rstrip('/')}/{key}"

    def group_tz(self, group: RecipientGroup) -> ZoneInfo:
        return ZoneInfo(group.timezone or self.timezone)

    def groups(self, cadence: str) -> list[RecipientGroup]:
        return [g for g in self.digest.groups if g.cadence == cadence]

    def resolve(self, relative_to: Path) -> "MonitorConfig":
        """Database and outbox paths relative to the config file's folder."""
        def absolute(p: str) -> str:
            return str(p if Path(p).is_absolute() else (relative_to / p).resolve())

        update: dict[str, Any] = {"database": absolute(self.database), "outbox": absolute(self.outbox)}
        if self.engine.staging and "://" not in self.engine.staging:  # a local folder, not an fsspec URL
            update["engine"] = self.engine.model_copy(update={"staging": absolute(self.engine.staging)})
        return self.model_copy(update=update)


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """brands[0].sources[1].source, with the brand's name where it helps."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(item, int):
            label = f"[{item}]"
            if isinstance(node, list) and item < len(node) and isinstance(node[item], dict) and "name" in node[item]:
                label = f"[{item}] ({node[item]['name']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(item))
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(parts) or "(top level)"


def parse_config(data: Any, source_name: str = "<config>") -> MonitorConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source_name}: the top level must be a mapping of keys, not {type(data).__name__}")
    try:
        return MonitorConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check its spelling; monitor.example.yaml lists every key)"
            elif err["type"] == "missing":
                msg = "missing: this key is required"
            lines.append(f"{source_name}: {_key_path(err['loc'], data)}: {msg}")
        raise ConfigError("\n".join(lines)) from None


def load_config(path: str | Path) -> MonitorConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(data, str(path)).resolve(path.resolve().parent)
