"""The negotiation thread between a CO and its municipality."""

from sqlalchemy import func, select

from consult.auth.models import User
from consult.core.db import utcnow
from consult.extensions import db
from consult.negotiation.models import Message, ThreadRead


def unread_counts(user: User, proposal_ids: list[int]) -> dict[int, int]:
    """Messages written by others since ``user`` last read each thread, by proposal id."""
    if not proposal_ids:
        return {}
    last_read = (
        select(ThreadRead.proposal_id, ThreadRead.last_read_message_id)
        .where(ThreadRead.user_id == user.id)
        .subquery()
    )
    rows = db.session.execute(
        select(Message.proposal_id, func.count(Message.id))
        .outerjoin(last_read, last_read.c.proposal_id == Message.proposal_id)
        .where(
            Message.proposal_id.in_(proposal_ids),
            Message.author_id.is_distinct_from(user.id),
            Message.id > func.coalesce(last_read.c.last_read_message_id, 0),
        )
        .group_by(Message.proposal_id)
    )
    return {pid: count for pid, count in rows}


def mark_read(user: User, proposal_id: int) -> None:
    """Remember that ``user`` has seen every message of the thread so far."""
    latest = db.session.scalar(
        select(func.max(Message.id)).where(Message.proposal_id == proposal_id)
    )
    if latest is None:
        return
    row = db.session.scalar(
        select(ThreadRead).where(
            ThreadRead.user_id == user.id, ThreadRead.proposal_id == proposal_id
        )
    )
    if row is None:
        db.session.add(
            ThreadRead(
                user_id=user.id,
                proposal_id=proposal_id,
                last_read_message_id=latest,
                read_at=utcnow(),
            )
        )
    elif latest > row.last_read_message_id:
        row.last_read_message_id = latest
        row.read_at = utcnow()
