"""The digest as an email: MIME, the outbox folder, and SMTP (STARTTLS or SSL)."""
from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field


class SmtpSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    security: Literal["starttls", "ssl", "none"]
    username: str | None = None
    password: str | None = Field(default=None, repr=False)  # never in repr, so never in a log line
    ca_file: str | None = None
    timeout: float = 30.0


class MailError(RuntimeError):
    pass


def build_message(subject: str, sender: str, recipients: Sequence[str], html: str, text: str,
                  attachments: Sequence[tuple[str, bytes, str]] = ()) -> EmailMessage:
    """multipart/alternative: the plain text first, the HTML preferred by readers that can show it;
    `attachments` (file name, data, MIME type) beside them."""
    if any(c in subject for c in "\r\n"):
        raise MailError("a subject must be one line")
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    for filename, data, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def load_message(eml_path: str | Path) -> EmailMessage:
    """A digest written to the outbox earlier, as the message to send."""
    try:
        data = Path(eml_path).read_bytes()
    except OSError as exc:
        raise MailError(f"cannot read the written digest {eml_path} ({exc.strerror})") from None
    return email.message_from_bytes(data, _class=EmailMessage, policy=email.policy.SMTP)


def mark_late(message: EmailMessage) -> EmailMessage:
    """The same digest, its subject saying it comes late (once) and dated now; the Message-ID stays."""
    subject = str(message["Subject"] or "")
    if not subject.startswith("[LATE] "):
        del message["Subject"]
        message["Subject"] = f"[LATE] {subject}"
    del message["Date"]
    message["Date"] = formatdate(localtime=False)
    return message


def write_outbox(outbox: str | Path, stem: str, html: str, text: str, message: EmailMessage,
                 extra: dict[str, bytes] | None = None) -> dict[str, str]:
    """Write stem.html, stem.txt, stem.eml (and stem.<kind> for each `extra` kind, such as csv); each through
    a temp file so a crash leaves no half file."""
    folder = Path(outbox)
    folder.mkdir(parents=True, exist_ok=True)
    files = [("html", html.encode("utf-8")), ("text", text.encode("utf-8")), ("eml", message.as_bytes()),
             *(extra or {}).items()]
    paths = {"html": folder / f"{stem}.html", "text": folder / f"{stem}.txt", "eml": folder / f"{stem}.eml",
             **{kind: folder / f"{stem}.{kind}" for kind in (extra or {})}}
    for kind, data in files:
        tmp = paths[kind].with_suffix(paths[kind].suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(paths[kind])
    return {k: str(v) for k, v in paths.items()}


def send_message(message: EmailMessage, settings: SmtpSettings) -> None:
    context = ssl.create_default_context(cafile=settings.ca_file)
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password or "")
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        # The message names the server, never the credentials.
        raise MailError(f"sending via {settings.host}:{settings.port} ({settings.security}) failed: {exc}") from None
    if refused:
        raise MailError(f"the server refused some recipients: {sorted(refused)}")
