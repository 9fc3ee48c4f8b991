"""Source credentials: from environment variables or a Prefect Secret block, never from the YAML.

A source class declares what it needs (`required_credentials = ("client_id", "client_secret")`).
By default each field comes from `<SOURCE>_<FIELD>` (REDDIT_CLIENT_ID); `credentials:
{env_prefix: REDDIT_ACME}` reads REDDIT_ACME_CLIENT_ID instead, for a second account; and
`credentials: {block: reddit-prod}` reads a Prefect Secret block whose value is a JSON object
with those fields; `credentials: {file: /path/creds.json}` reads the same names as the
environment from a JSON object in that file (mode 0600, like a .env file), the environment
winning where both have a name. Values are handed to the scraper and never logged or stored.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field

from scrapers.base import Source


class CredentialsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    env_prefix: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$",
                                   description="read <PREFIX>_<FIELD> from the environment")
    block: str | None = Field(default=None, min_length=1, description="a Prefect Secret block holding a JSON object")
    file: str | None = Field(default=None, min_length=1,
                             description="a JSON file of the environment names and their values (an absolute path)")


class MissingCredentials(ValueError):
    """What a source needs and did not get, said so that a user can set it."""


def required_fields(scraper_cls: type[Source], targets: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the source needs for these targets (its `required_credentials`, or per target where they vary)."""
    return tuple(scraper_cls.credentials_for(targets))


def env_names(source: str, fields: tuple[str, ...], config: CredentialsConfig | None) -> list[str]:
    prefix = (config.env_prefix if config and config.env_prefix else source.upper())
    return [f"{prefix}_{field.upper()}" for field in fields]


def resolve(source: str, scraper_cls: type[Source], config: CredentialsConfig | None,
            env: Mapping[str, str] | None = None, targets: tuple[str, ...] = ()) -> dict[str, str] | None:
    """The source's credentials for these targets, or None if it needs none; MissingCredentials naming what is missing."""
    fields = required_fields(scraper_cls, targets)
    if not fields:
        return None
    if config and config.block:
        return _from_block(source, config.block, fields)
    env = os.environ if env is None else env
    if config and config.file:
        env = {**_from_file(source, config.file), **env}
    names = env_names(source, fields, config)
    values = {field: env.get(name, "").strip() for field, name in zip(fields, names)}
    missing = [name for field, name in zip(fields, names) if not values[field]]
    if missing:
        raise MissingCredentials(
            f"{source} needs {', '.join(missing)} in the environment "
            f"(or credentials: {{block: <a Prefect Secret block>}} in the config)")
    return values


def _from_file(source: str, path: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError) as exc:
        raise MissingCredentials(f"{source}: the credentials file {path} could not be read "
                                 f"({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise MissingCredentials(f"{source}: the credentials file {path} must hold a JSON object of names and values")
    return {str(k): str(v) for k, v in value.items()}


def _from_block(source: str, block: str, fields: tuple[str, ...]) -> dict[str, str]:
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(block).get()
    except Exception as exc:  # not found, no server: both mean the source cannot run
        raise MissingCredentials(f"{source}: the Prefect Secret block {block!r} could not be read "
                                 f"({type(exc).__name__})") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise MissingCredentials(f"{source}: the Prefect Secret block {block!r} must hold a JSON object with "
                                 f"{', '.join(fields)}")
    missing = [f for f in fields if not str(value.get(f) or "").strip()]
    if missing:
        raise MissingCredentials(f"{source}: the Prefect Secret block {block!r} lacks {', '.join(missing)}")
    return {f: str(value[f]) for f in fields}


def notify_urls(env_name: str | None, block: str | None, file: str | None = None,
                env: Mapping[str, str] | None = None) -> list[str]:
    """A group's Apprise URLs, from the environment (or a file of such names) or a Prefect Secret block."""
    if block:
        from prefect.blocks.system import Secret

        try:
            value = Secret.load(block).get()
        except Exception as exc:
            raise MissingCredentials(f"notify: the Prefect Secret block {block!r} could not be read "
                                     f"({type(exc).__name__})") from None
        urls = value if isinstance(value, list) else str(value).replace(",", " ").split()
        return [str(u) for u in urls if str(u).strip()]
    env = os.environ if env is None else env
    if file:
        env = {**_from_file("notify", file), **env}
    urls = (env.get(env_name or "", "") or "").replace(",", " ").split()
    if not urls:
        raise MissingCredentials(f"notify needs {env_name} in the environment: one or more Apprise URLs")
    return urls
