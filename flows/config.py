"""monitor.yaml: the one config file, validated, with one clear message on error.

Secrets never live here: SMTP and API credentials come from environment
variables (see `smtp_settings_from_env`) and are never logged.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from flows.credentials import CredentialsConfig, MissingCredentials, resolve
from reports.mailer import SmtpSettings
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    source: str = Field(description="a registered scraper name: hackernews, feed")
    targets: list[str] = Field(min_length=1, description="queries or URLs, as the source understands them")
    base_url: str | None = Field(default=None, description="API root, for a self-hosted or test server")
    options: dict[str, Any] = Field(default_factory=dict, description="scraper-specific settings")
    credentials: CredentialsConfig | None = Field(default=None, description="where the source's secrets come from")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        from scrapers.base import is_source, scraper_names

        if not is_source(value):
            raise ValueError(f"unknown source {value!r}; known: {', '.join(scraper_names())}")
        return value

    @model_validator(mode="after")
    def _known_options(self) -> "SourceConfig":
        import inspect

        from scrapers.base import scraper_class

        try:
            cls = scraper_class(self.source)
        except (ImportError, TypeError) as exc:  # a broken plugin: said as a config error, with its reason
            raise ValueError(str(exc)) from None
        accepted = set(inspect.signature(cls).parameters) - {"self", "http", "base_url", "credentials"}
        unknown = sorted(set(self.options) - accepted)
        if unknown:
            raise ValueError(f"options for {self.source} do not include {unknown}; known: {sorted(accepted)}")
        check_target = getattr(cls, "check_target", None)
        for target in self.targets if check_target else []:
            check_target(target)  # its ValueError names the target and the form the source expects
        return self

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value


class BrandConfig(_Strict):
    name: str = Field(min_length=1)
    terms: list[str] = Field(default_factory=list, description="the brand's names, left out of themes")
    competitor: bool = False
    sources: list[SourceConfig] = Field(min_length=1)


class NotifyConfig(_Strict):
    """Where a group's Apprise URLs come from: they carry tokens, so never from the YAML itself."""

    env: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$",
                            description="an environment variable holding the URLs (space- or comma-separated)")
    block: str | None = Field(default=None, min_length=1, description="a Prefect Secret block holding them")
    file: str | None = Field(default=None, min_length=1, description="a JSON file holding {env: urls} (absolute path)")

    @model_validator(mode="after")
    def _one_place(self) -> "NotifyConfig":
        if not (self.env or self.block):
            raise ValueError("notify needs env: <VARIABLE> or block: <Prefect Secret block> (the URLs carry tokens)")
        return self


class RecipientGroup(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    recipients: list[str] = Field(min_length=1)
    brands: list[str] | None = Field(default=None, description="brands in this group's digest; default all")
    notify: NotifyConfig | None = Field(default=None, description="push alerts as they happen (the watch flow)")
    quiet_hours: str | None = Field(default=None, description="HH:MM-HH:MM local: only HIGH alerts push then")
    cadence: Literal["daily", "weekly"] = Field(
        default="daily", description="daily: the nightly digest; weekly: the week's digest, sent at send_at")
    send_at: str = Field(default="monday 08:00",
                         description="weekly: the weekday and time it goes out, for the seven days before")
    timezone: str | None = Field(default=None, description="the group's time zone (default: the config's)")

    @field_validator("send_at")
    @classmethod
    def _send_at(cls, value: str) -> str:
        from flows.cadence import parse_send_at

        parse_send_at(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _group_zone(cls, value: str | None) -> str | None:
        return value if value is None else _known_zone(value)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str | None) -> str | None:
        from analysis.pushes import parse_quiet_hours

        parse_quiet_hours(value)
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or any(c in address for c in " <>,;\r\n"):
                raise ValueError(f"{address!r} is not an email address")
        return value


class DigestConfig(_Strict):
    sender: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    subject: str = "repwatch digest"
    groups: list[RecipientGroup] = Field(min_length=1)
    reply_queue_days: int = Field(default=30, ge=1, le=365,
                                  description="how far back the waiting-for-a-reply list looks")
    reply_queue_limit: int = Field(default=10, ge=1, le=200, description="reviews listed before 'and N more'")


class DetectionConfig(_Strict):
    bucket: Literal["hour", "day"] = "hour"
    sensitivity: Literal["low", "medium", "high"] = "medium"
    history_days: int = Field(default=56, ge=7, le=730)

    @property
    def bucket_seconds(self) -> int:
        return 3600 if self.bucket == "hour" else 86400


class WatchConfig(_Strict):
    cron: str = Field(default="*/15 * * * *", description="how often the watch deployment runs (config time zone)")
    escalation_factor: float = Field(default=10.0, gt=1, description="a pushed incident is pushed again at this step")


class SentimentConfig(_Strict):
    model: Literal["learned", "vader"] = Field(
        default="learned", description="learned: made for text addressed to a brand; vader: the classic lexicon")


class HttpConfig(_Strict):
    user_agent: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0)
    pace_seconds: float = Field(default=1.0, ge=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    source_seconds: float = Field(default=300, gt=0, description="a source's whole fetch, retries included, ends by then")


class EngineConfig(_Strict):
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


class MonitorConfig(_Strict):
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
        return _known_zone(value)

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


def missing_credentials(config: MonitorConfig, env: dict[str, str] | None = None) -> list[str]:
    """One line per source entry whose credentials are missing, with its key path: what `repwatch check` says."""
    from scrapers.base import scraper_class

    lines = []
    for b, brand in enumerate(config.brands):
        for s, src in enumerate(brand.sources):
            try:
                resolve(src.source, scraper_class(src.source), src.credentials, env, tuple(src.targets))
            except MissingCredentials as exc:
                lines.append(f"brands[{b}] ({brand.name}).sources[{s}]: {exc}")
    return lines


def smtp_settings_from_env(env: dict[str, str] | None = None) -> SmtpSettings | None:
    """SMTP_HOST (and SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME, SMTP_PASSWORD, SMTP_CA_FILE); None if unset."""
    env = dict(os.environ if env is None else env)
    host = env.get("SMTP_HOST", "").strip()
    if not host:
        return None
    security = env.get("SMTP_SECURITY", "starttls").strip().lower()
    default_port = {"ssl": 465, "starttls": 587, "none": 25}.get(security, 587)
    try:
        return SmtpSettings(
            host=host,
            port=int(env.get("SMTP_PORT") or default_port),
            security=security,  # type: ignore[arg-type]
            username=env.get("SMTP_USERNAME") or None,
            password=env.get("SMTP_PASSWORD") or None,
            ca_file=env.get("SMTP_CA_FILE") or None,
        )
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"SMTP_* environment variables: {exc}".splitlines()[0]) from None


def missing_notify(config: MonitorConfig, env: dict[str, str] | None = None) -> list[str]:
    """One line per group whose push targets cannot be read: what `repwatch check` says (never the URLs)."""
    from flows.credentials import notify_urls

    lines = []
    for g, group in enumerate(config.digest.groups):
        if group.notify is None:
            continue
        try:
            notify_urls(group.notify.env, group.notify.block, group.notify.file, env)
        except MissingCredentials as exc:
            lines.append(f"digest.groups[{g}] ({group.name}).notify: {exc}")
    return lines
