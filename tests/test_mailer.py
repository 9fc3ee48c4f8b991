"""The mailer against a real SMTP server (aiosmtpd) with STARTTLS, AUTH and SSL."""
import email
import socket
import ssl
from email import policy

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from reports.mailer import MailError, SmtpSettings, build_message, send_message, write_outbox


class Inbox:
    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"digest-bot", b"s3cret")
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return server_ctx, str(ca_file)


@pytest.fixture
def starttls_server(tls):
    server_ctx, ca_file = tls
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), tls_context=server_ctx,
                            require_starttls=True, authenticator=_authenticator, auth_require_tls=True)
    controller.start()
    yield inbox, controller.port, ca_file
    controller.stop()


def message():
    return build_message("[ALERT] Acme digest", "repwatch@acme.example", ["lead@acme.example", "cto@acme.example"],
                         "<p>Alert: <b>login</b> outage</p>", "Alert: login outage")


def test_message_is_multipart_alternative_text_then_html():
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    with pytest.raises(MailError):
        build_message("two\nlines", "a@b.c", ["d@e.f"], "", "")


def test_sends_over_starttls_with_auth(starttls_server):
    inbox, port, ca_file = starttls_server
    send_message(message(), SmtpSettings(host="127.0.0.1", port=port, security="starttls", username="digest-bot",
                                         password="s3cret", ca_file=ca_file, timeout=10))
    (env,) = inbox.envelopes
    assert env.mail_from == "repwatch@acme.example"
    assert env.rcpt_tos == ["lead@acme.example", "cto@acme.example"]
    received = email.message_from_bytes(env.original_content, policy=policy.default)
    assert received["Subject"] == "[ALERT] Acme digest"
    assert received.get_body(("html",)).get_content().strip() == "<p>Alert: <b>login</b> outage</p>"


def test_wrong_password_is_a_clear_error_without_the_password(starttls_server):
    inbox, port, ca_file = starttls_server
    with pytest.raises(MailError) as err:
        send_message(message(), SmtpSettings(host="127.0.0.1", port=port, security="starttls", username="digest-bot",
                                             password="wrong-secret", ca_file=ca_file, timeout=3))
    # aiosmtpd 1.4.6 stalls on a failed AUTH rather than answering 535: either way the error is clear.
    assert "wrong-secret" not in str(err.value) and f"127.0.0.1:{port}" in str(err.value)
    assert inbox.envelopes == []


def test_untrusted_certificate_is_refused(starttls_server):
    _, port, _ = starttls_server
    with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        send_message(message(), SmtpSettings(host="127.0.0.1", port=port, security="starttls", timeout=10))


def test_sends_over_implicit_ssl(tls):
    server_ctx, ca_file = tls
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port(), ssl_context=server_ctx)
    controller.start()
    try:
        send_message(message(), SmtpSettings(host="127.0.0.1", port=controller.port, security="ssl", ca_file=ca_file,
                                             timeout=10))
    finally:
        controller.stop()
    assert len(inbox.envelopes) == 1


def test_outbox_has_html_text_and_eml(tmp_path):
    paths = write_outbox(tmp_path / "outbox", "digest-2026-11-24-support", "<p>h</p>", "t", message())
    assert sorted(p.rsplit(".", 1)[1] for p in paths.values()) == ["eml", "html", "txt"]
    eml = email.message_from_bytes((tmp_path / "outbox" / "digest-2026-11-24-support.eml").read_bytes(), policy=policy.default)
    assert eml["To"] == "lead@acme.example, cto@acme.example"
    assert not list((tmp_path / "outbox").glob("*.tmp"))
