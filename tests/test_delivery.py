"""A digest is never lost: written and sent are separate facts, and a pending digest goes out exactly once."""
import email
import socket
from datetime import datetime, timedelta, timezone
from email import policy

import pytest
from aiosmtpd.controller import Controller

from analysis import store
from flows.config import parse_config
from flows.tasks.digests import daily_plans, write_and_send_digests
from reports.mailer import SmtpSettings

END = datetime(2026, 11, 24, 6, tzinfo=timezone.utc)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.SMTP))
        return "250 OK"


class Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(("info", msg % args))

    def error(self, msg, *args):
        self.lines.append(("error", msg % args))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def setting(tmp_path):
    config = parse_config({
        "outbox": str(tmp_path / "outbox"),
        "brands": [{"name": "Acme", "sources": [{"source": "feed", "targets": ["https://a.example/f"]}]}],
        "digest": {"sender": "repwatch@acme.example", "subject": "Acme digest",
                   "groups": [{"name": "support", "recipients": ["lead@acme.example"]}]},
    })
    con = store.connect(":memory:")
    port = free_port()
    yield config, con, port, SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=5)
    con.close()


def deliver(setting, run_id, smtp, resend=False, period_key="2026-11-24", end=END):
    config, con, _, _ = setting
    plans = daily_plans(config, period_key, end - timedelta(days=1), end)
    return write_and_send_digests(con, config, plans, run_id, smtp, resend, Log())


def test_smtp_down_then_up_delivers_exactly_one_late_message(setting):
    config, con, port, smtp = setting
    (first,) = deliver(setting, "r1", smtp)  # nothing listens on the port yet
    assert first.sent is False and "failed" in first.error and first.html_path.endswith(".html")
    (row,) = store.pending_digests(con)
    assert row["delivery"] == "pending" and "127.0.0.1" in row["last_error"] and row["sent_at"] is None

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (second,) = deliver(setting, "r2", smtp)  # the next run, same day, without --resend
        assert (second.skipped, second.sent, second.late, second.error) == (True, True, True, None)
        assert len(inbox.messages) == 1
        assert inbox.messages[0]["Subject"] == "[LATE] Acme digest: Tue 24 Nov 06:00"
        assert store.pending_digests(con) == []

        (third,) = deliver(setting, "r3", smtp)
        assert (third.skipped, third.sent) == (True, False) and len(inbox.messages) == 1

        (again,) = deliver(setting, "r4", smtp, resend=True)  # --resend: send again, on time
        assert again.sent is True and not again.late and len(inbox.messages) == 2
        assert inbox.messages[1]["Subject"] == "Acme digest: Tue 24 Nov 06:00"
        assert store.get_digest(con, "2026-11-24", "support")["send_count"] == 2
    finally:
        controller.stop()


def test_a_later_period_sends_the_pending_one_first(setting):
    config, con, port, smtp = setting
    deliver(setting, "r1", smtp)  # yesterday's digest could not be sent
    deliver(setting, "r2", None, period_key="2026-11-25", end=END + timedelta(days=1))  # --no-email: sends nothing
    assert [d["period_key"] for d in store.pending_digests(con)] == ["2026-11-24"]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        outcomes = deliver(setting, "r3", smtp, period_key="2026-11-26", end=END + timedelta(days=2))
    finally:
        controller.stop()
    assert sorted((o.period, o.sent, o.late) for o in outcomes) == [
        ("2026-11-24", True, True), ("2026-11-26", True, False)]
    # The --no-email digest was written for the outbox only: it is not pending, and nothing sends it later.
    assert [m["Subject"] for m in inbox.messages] == ["[LATE] Acme digest: Tue 24 Nov 06:00", "Acme digest: Thu 26 Nov 06:00"]
    assert store.get_digest(con, "2026-11-25", "support")["delivery"] == "outbox"


def test_a_send_cut_short_by_a_kill_is_reported_once_and_not_sent_twice(setting):
    config, con, port, smtp = setting
    deliver(setting, "r1", None)  # written; pretend a run had started sending it when it was killed
    store.record_digest(con, "2026-11-24", "support", END - timedelta(days=1), END,
                        {"html": "d.html", "text": "d.txt", "eml": "d.eml"}, "r1", to_send=True)
    store.mark_digest_sending(con, "2026-11-24", "support")
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (outcome,) = deliver(setting, "r2", smtp)
        assert outcome.sent is False and "may or may not have arrived" in outcome.error
        (again,) = deliver(setting, "r3", smtp)
        assert again.error is None and again.sent is False  # reported once, never resent blindly
    finally:
        controller.stop()
    assert inbox.messages == []
    assert store.get_digest(con, "2026-11-24", "support")["delivery"] == "interrupted"


def test_smtp_auth_refused_keeps_the_digest_pending_with_the_reason(setting):
    from aiosmtpd.smtp import AuthResult

    config, con, port, _ = setting
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=lambda *a: AuthResult(success=False))
    controller.start()
    try:
        smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", username="bot", password="wrong", timeout=3)
        (outcome,) = deliver(setting, "r1", smtp)
    finally:
        controller.stop()
    assert outcome.sent is False and "127.0.0.1" in outcome.error and "wrong" not in outcome.error
    (row,) = store.pending_digests(con)
    assert row["last_error"] and "wrong" not in row["last_error"]  # the password is never recorded
