"""The SMTP server a digest is sent through, from SMTP_* environment variables (never from monitor.yaml)."""
from __future__ import annotations

import os

from pydantic import ValidationError

from flows.config import ConfigError
from reports.mailer import SmtpSettings


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
