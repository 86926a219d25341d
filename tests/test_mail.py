"""The e-mail outbox: rows written with the notification, the claim, back-off, and delivery
through ``consult send-mail`` to a real local SMTP server (aiosmtpd)."""

import email
import socket
import threading
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from consult.core.db import utcnow
from consult.extensions import db
from consult.notifications import mail
from consult.notifications.models import Notification, OutgoingMail
from consult.notifications.service import notify

KHMER_TITLE = "ស្ពានឈើថ្មី សម្រាប់សហគមន៍"  # "A new wooden footbridge for the community"


def free_port() -> int:
    """A port nothing listens on (bound once by us, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_config(app, monkeypatch):
    """SMTP settings on the shared test app, restored after the test."""
    port = free_port()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 5)
    monkeypatch.setitem(app.config, "SMTP_FROM", "consult@example.org")
    return app.config


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def outbox():
    return db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()


# --- queueing with the notification ---------------------------------------------------------


def test_notify_queues_mail_only_with_smtp_and_an_address(app, make, monkeypatch):
    with_email = make.user(email="dara@example.org")
    phone_only = make.user()
    notify([with_email, phone_only], "vote.opened", title="Lane")
    assert outbox() == []  # no SMTP_HOST: in-app only
    assert db.session.query(Notification).count() == 2

    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    notify([with_email, phone_only], "vote.opened", title="Lane")
    rows = outbox()
    assert [r.to_address for r in rows] == ["dara@example.org"]
    assert rows[0].sent_at is None and rows[0].attempts == 0
    assert rows[0].next_attempt_at is not None


def test_a_rolled_back_action_queues_nothing(app, make, smtp_config):
    u = make.user(email="sokha@example.org")
    db.session.commit()
    notify([u], "vote.opened", title="Lane")
    db.session.rollback()
    assert outbox() == []
    assert db.session.query(Notification).count() == 0


def test_mail_is_in_the_readers_language_with_an_absolute_link(app, make, smtp_config):
    u = make.user(email="bopha@example.org", language="km")
    notify([u], "vote.opened", link="/proposals/7", title=KHMER_TITLE)
    (row,) = outbox()
    assert KHMER_TITLE in row.subject
    assert KHMER_TITLE in row.body
    assert "http://localhost/proposals/7" in row.body  # SERVER_NAME in the test config


def test_base_url_setting_wins_for_links(app, make, smtp_config, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://consult.example.org/")
    u = make.user(email="chan@example.org")
    notify([u], "message.posted", link="/proposals/7/thread", title="Lane", author="Officer")
    (row,) = outbox()
    assert "https://consult.example.org/proposals/7/thread" in row.body
    assert "message.posted" not in row.body  # the sentence, never the raw kind


# --- claiming and back-off ------------------------------------------------------------------


def test_backoff_doubles_and_stops_at_six_hours():
    assert mail.backoff(1) == timedelta(minutes=2)
    assert mail.backoff(2) == timedelta(minutes=4)
    assert mail.backoff(8) == timedelta(minutes=256)
    assert mail.backoff(9) == timedelta(hours=6)
    assert mail.backoff(500) == timedelta(hours=6)


def test_a_claimed_row_is_leased_away_from_other_workers(app, make, smtp_config):
    u = make.user(email="vanna@example.org")
    notify([u], "vote.opened", title="Lane")
    db.session.commit()
    now = utcnow()
    first = mail.claim(now)
    assert first is not None
    assert mail.claim(now) is None  # a second worker finds nothing due
    # A worker that died holding it: once the lease runs out the row is due again.
    assert mail.claim(now + mail.LEASE + timedelta(seconds=1)) == first


def test_a_sent_row_is_never_claimed_again(app, make, smtp_config):
    u = make.user(email="kim@example.org")
    notify([u], "vote.opened", title="Lane")
    db.session.commit()
    db.session.execute(update(OutgoingMail).values(sent_at=utcnow()))
    db.session.commit()
    assert mail.claim(utcnow() + timedelta(days=1)) is None


def test_send_mail_needs_an_smtp_host(app, runner):
    result = runner.invoke(args=["send-mail", "--once"])
    assert result.exit_code != 0
    assert "SMTP_HOST" in result.output


# --- down, then up ------------------------------------------------------------------------


def test_with_smtp_down_mail_stays_queued_then_goes_exactly_once(app, make, smtp_config, runner):
    people = [
        make.user(email="sokha@example.org", language="km", name="សុខា"),
        make.user(email="dara@example.org", language="en"),
        make.user(email="chan@example.org"),
    ]
    for u in people:
        notify([u], "vote.opened", link="/proposals/3", title=KHMER_TITLE)
    db.session.commit()

    # Nothing listens on the port: every row stays, with the failure counted and explained.
    result = runner.invoke(args=["send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "Sent 0, failed 3" in result.output
    db.session.expire_all()
    rows = outbox()
    assert len(rows) == 3
    for row in rows:
        assert row.sent_at is None
        assert row.attempts == 1
        assert row.last_error
        assert row.next_attempt_at > utcnow() + timedelta(minutes=1)  # backed off

    # Not due yet: another run right away tries nothing.
    result = runner.invoke(args=["send-mail", "--once"])
    assert "Sent 0, failed 0" in result.output

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=smtp_config["SMTP_PORT"])
    controller.start()
    try:
        db.session.execute(
            update(OutgoingMail).values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        first = runner.invoke(args=["send-mail", "--once"])
        second = runner.invoke(args=["send-mail", "--once"])
    finally:
        controller.stop()
    assert "Sent 3, failed 0" in first.output, first.output
    assert "Sent 0, failed 0" in second.output

    assert len(collector.envelopes) == 3
    assert sorted(rcpt for e in collector.envelopes for rcpt in e.rcpt_tos) == [
        "chan@example.org",
        "dara@example.org",
        "sokha@example.org",
    ]
    received = {
        e.rcpt_tos[0]: email.message_from_bytes(e.content, policy=policy.default)
        for e in collector.envelopes
    }
    khmer = received["sokha@example.org"]
    assert KHMER_TITLE in khmer["Subject"]
    body = khmer.get_content()
    assert KHMER_TITLE in body
    assert "សុខា" in body
    assert "http://localhost/proposals/3" in body
    assert khmer["From"] == "Consult <consult@example.org>"

    db.session.expire_all()
    for row in outbox():
        assert row.sent_at is not None
        assert row.attempts == 1  # the failed try stays on record
        assert row.last_error is None


def test_concurrent_workers_deliver_each_row_once(app, make, smtp_config):
    """Three workers, each with its own app context and database connection, share the queue."""
    addresses = [f"person{i}@example.org" for i in range(12)]
    for address in addresses:
        notify([make.user(email=address)], "vote.opened", title=KHMER_TITLE)
    db.session.commit()

    reports, errors = [], []

    def worker():
        try:
            with app.app_context():
                reports.append(mail.send_due())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=smtp_config["SMTP_PORT"])
    controller.start()
    try:
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        controller.stop()
    assert errors == []
    assert sum(r.sent for r in reports) == 12 and sum(r.failed for r in reports) == 0
    received = sorted(rcpt for e in collector.envelopes for rcpt in e.rcpt_tos)
    assert received == sorted(addresses)
    db.session.expire_all()
    assert all(row.sent_at is not None for row in outbox())


def test_links_in_mail_never_take_their_host_from_the_request(app, monkeypatch):
    """A client picks its Host header; it must not pick where others' e-mail links point."""
    from consult.notifications.service import absolute_url

    monkeypatch.setitem(app.config, "BASE_URL", None)
    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "CONSULT_ENV", "production")
    with app.test_request_context("/", base_url="https://evil.example"):
        assert absolute_url("/proposals/1") is None
    monkeypatch.setitem(app.config, "BASE_URL", "https://consult.example.org")
    with app.test_request_context("/", base_url="https://evil.example"):
        assert absolute_url("/proposals/1") == "https://consult.example.org/proposals/1"
    monkeypatch.setitem(app.config, "BASE_URL", None)
    monkeypatch.setitem(app.config, "CONSULT_ENV", "development")
    with app.test_request_context("/", base_url="http://127.0.0.1:5000"):
        assert absolute_url("/proposals/1") == "http://127.0.0.1:5000/proposals/1"
