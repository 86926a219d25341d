"""In-app notifications. The sentence is chosen at display time, in the reader's language."""

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from consult.auth.models import User
from consult.core.db import utcnow
from consult.extensions import db
from consult.notifications.models import Notification


def notify(
    users, kind: str, *, link: str | None = None, proposal_id: int | None = None, **params
) -> None:
    """Add a notification of ``kind`` for each of ``users`` (duplicates and None skipped)."""
    seen: set[int] = set()
    for user in users:
        if user is None or user.id in seen:
            continue
        seen.add(user.id)
        db.session.add(
            Notification(
                user_id=user.id, kind=kind, params=params, link=link, proposal_id=proposal_id
            )
        )


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def mark_all_read(user: User) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


def text(n: Notification) -> str:
    """The sentence for a notification, translated for whoever reads it now."""
    p = n.params or {}
    sentences = {
        "proposal.state_changed": _(
            "“%(title)s” is now %(state)s.", title=p.get("title", ""), state=p.get("state", "")
        ),
        "proposal.submitted": _(
            "%(co)s submitted “%(title)s”.", co=p.get("co", ""), title=p.get("title", "")
        ),
        "message.posted": _(
            "New message on “%(title)s” from %(author)s.",
            title=p.get("title", ""),
            author=p.get("author", ""),
        ),
        "vote.opened": _("A vote is open on “%(title)s”.", title=p.get("title", "")),
        "vote.closed": _(
            "The vote on “%(title)s” closed: %(result)s.",
            title=p.get("title", ""),
            result=p.get("result", ""),
        ),
    }
    return sentences.get(n.kind, n.kind)
