"""Delivering the e-mail outbox (``outgoing_mail``) over SMTP, one row at a time.

Rows are added by :func:`consult.notifications.service.notify` in the transaction of the action
they tell about. A worker (``consult send-mail``) delivers them:

1. **claim** one due row with a *lease*: ``next_attempt_at`` is pushed ``LEASE`` into the future
   by a conditional UPDATE that only succeeds while the row is still unsent and due, and that
   is committed before anything is sent. Other workers no longer see the row as due, so several
   workers (processes, machines) can run at once without sending a row twice. On PostgreSQL the
   row is picked with ``SELECT … FOR UPDATE SKIP LOCKED`` so that concurrent workers take
   different rows instead of queueing on the same one; on SQLite, which has no row locks, the
   single conditional UPDATE alone decides (see :func:`claim`);
2. **send** it with ``smtplib``;
3. on acceptance, set ``sent_at`` and commit; on failure, count the attempt, keep the error and
   back off (``next_attempt_at`` = now + min(2^attempts minutes, 6 hours)). A row is never
   deleted or given up on: a wrong address keeps failing, visibly, in ``last_error``.

Delivery is at most once per row in normal operation. The one gap: if the process dies (or
the database becomes unreachable) after the SMTP server accepted a message but before
``sent_at`` is committed, the row is still unsent when its lease runs out and is sent again —
at least once in that window, never lost. The Message-ID is the same on every attempt
(``<outbox-<id>@…>``), so mail clients can recognise such a duplicate.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from flask import current_app
from sqlalchemy import delete, func, or_, select, update

from consult.auth.models import User
from consult.core.db import utcnow
from consult.extensions import db
from consult.notifications.models import OutgoingMail

log = logging.getLogger(__name__)

#: how long a claimed row is hidden from other workers; longer than any SMTP exchange
LEASE = timedelta(minutes=10)
#: longest wait between two attempts
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class Report:
    sent: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 2, 4, 8… minutes, at most 6 hours."""
    if attempts >= 9:  # 2^9 minutes is already more than 6 hours; no huge powers
        return MAX_BACKOFF
    return min(timedelta(minutes=2**attempts), MAX_BACKOFF)


def _due(now: datetime):
    return (
        OutgoingMail.sent_at.is_(None),
        or_(OutgoingMail.next_attempt_at.is_(None), OutgoingMail.next_attempt_at <= now),
    )


def claim(now: datetime | None = None) -> int | None:
    """Lease one due row for this worker and commit; its id, or None when nothing is due.

    One statement: ``UPDATE … SET next_attempt_at = now + LEASE WHERE id = (the first due row)
    AND <still due> RETURNING id``. On PostgreSQL the inner SELECT takes the row ``FOR UPDATE
    SKIP LOCKED``, so concurrent workers pick different rows instead of waiting on one. SQLite
    has one writer at a time: the statement starts as a write, so a second worker waits for the
    first to commit (busy timeout) and then no longer finds that row due.
    """
    now = now or utcnow()
    session = db.session
    first_due = (
        select(OutgoingMail.id)
        .where(*_due(now))
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        first_due = first_due.with_for_update(skip_locked=True)
    row_id = session.scalar(
        update(OutgoingMail)
        .where(OutgoingMail.id == first_due.scalar_subquery(), *_due(now))
        .values(next_attempt_at=now + LEASE)
        .returning(OutgoingMail.id)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return row_id


def build_message(row: OutgoingMail) -> EmailMessage:
    config = current_app.config
    sender = config.get("SMTP_FROM") or "consult@localhost"
    domain = sender.rpartition("@")[2] or "localhost"
    msg = EmailMessage()
    msg["From"] = formataddr(("Consult", sender))
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = f"<outbox-{row.id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body, charset="utf-8")
    return msg


class Mailer:
    """One SMTP connection, opened when first needed and reused for the rows of a run."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None

    def send(self, msg: EmailMessage) -> None:
        if self.smtp is not None:
            try:
                self.smtp.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected:
                # The server closed an idle reused connection: that says nothing about this
                # message, so try once more on a fresh connection.
                self.reset()
        self.smtp = self._connect()
        self.smtp.send_message(msg)

    def _connect(self) -> smtplib.SMTP:
        config = current_app.config
        smtp = smtplib.SMTP(
            config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25), timeout=_timeout()
        )
        try:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def reset(self) -> None:
        """Drop the connection (after an error it may be in any state)."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None

    close = reset


def _timeout() -> float:
    return float(current_app.config.get("SMTP_TIMEOUT") or 30)


def deliver(row_id: int, mailer: Mailer, now: datetime | None = None) -> bool:
    """Send one claimed row and record the outcome (committed). True when it was accepted."""
    row = db.session.get(OutgoingMail, row_id)
    if row is None or row.sent_at is not None:
        db.session.rollback()
        return False
    if _recipient_disabled(row.to_address):
        # queued before the account was disabled: a disabled account gets no mail
        db.session.execute(delete(OutgoingMail).where(OutgoingMail.id == row_id))
        db.session.commit()
        log.info("mail %s dropped: the recipient's account is disabled", row_id)
        return False
    msg = build_message(row)
    attempts, to_address = row.attempts or 0, row.to_address
    # No transaction stays open while we talk to the SMTP server; the outcome is then written
    # by a single UPDATE (on SQLite a write that starts as a write waits for other workers
    # instead of failing on a stale read snapshot).
    db.session.commit()
    try:
        mailer.send(msg)
    except (smtplib.SMTPException, OSError) as error:
        mailer.reset()
        attempts += 1
        message = f"{type(error).__name__}: {error}"[:500]
        _record(
            row_id,
            attempts=attempts,
            last_error=message,
            next_attempt_at=(now or utcnow()) + backoff(attempts),
        )
        log.warning("mail %s to %s failed: %s", row_id, to_address, message)
        return False
    # Accepted by the server. Should we die before this commit, the row is sent again once
    # its lease ends (see the module docstring).
    _record(row_id, sent_at=utcnow(), last_error=None)
    return True


def _recipient_disabled(address: str) -> bool:
    return bool(
        db.session.scalar(
            select(func.count(User.id)).where(User.email == address, User.active.is_(False))
        )
    )


def _record(row_id: int, **values) -> None:
    db.session.execute(
        update(OutgoingMail)
        .where(OutgoingMail.id == row_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def send_due(now: datetime | None = None, limit: int | None = None) -> Report:
    """Send every row due at ``now`` (one claim at a time) and return the counts.

    A row that fails is pushed into the future by its back-off, so it is not retried within
    the same run; the run ends when nothing is due.
    """
    report = Report()
    mailer = Mailer()
    try:
        while limit is None or report.sent + report.failed < limit:
            row_id = claim(now)
            if row_id is None:
                break
            if deliver(row_id, mailer):
                report.sent += 1
            else:
                report.failed += 1
    finally:
        mailer.close()
    return report
