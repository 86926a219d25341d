"""The negotiation thread between a CO and its municipality, and the municipality's inbox.

Services check the rule, change state, write the audit event, notify and flush. They never
commit, touch the request or render; the view commits once. Every state change goes through
:func:`consult.proposals.service.apply_transition`.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import joinedload, selectinload

from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Municipality
from consult.core.db import utcnow
from consult.core.enums import Decision, MessageKind, ProposalState, Side
from consult.core.permissions import can, is_member, is_officer_of
from consult.extensions import db
from consult.negotiation.models import Message, ThreadRead
from consult.notifications.service import notify
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.service import apply_transition, people_to_tell
from consult.proposals.workflow import WITH_MUNICIPALITY

#: longest message body the service accepts (the form says the same)
MAX_BODY = 5000


class NegotiationError(ValueError):
    """A readable reason a message or a decision was refused, for the page."""


# --- unread counts --------------------------------------------------------------------------


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


# --- the inbox ------------------------------------------------------------------------------


def _awaiting_response():
    """SQL: still with the municipality and never answered."""
    return and_(Proposal.first_response_at.is_(None), Proposal.state.in_(WITH_MUNICIPALITY))


def _overdue_cutoff(municipality: Municipality, now: datetime) -> datetime:
    # Overdue means more whole days waiting than the target: submitted at or before
    # now - (target + 1) days. Exactly the target is still on time.
    return now - timedelta(days=municipality.response_target_days + 1)


def inbox_query(
    municipality: Municipality,
    *,
    state: ProposalState | None = None,
    settlement_id: int | None = None,
    sort: str = "newest",
) -> Select:
    """Every proposal submitted to ``municipality``, filtered and sorted, for pagination.

    ``sort`` is ``newest`` (latest submission first) or ``waiting`` (those still waiting for a
    first response first, the longest-waiting at the top; then the answered ones, oldest first).
    """
    query = (
        select(Proposal)
        .join(Proposal.organisation)
        .where(Proposal.municipality_id == municipality.id, Proposal.submitted_at.is_not(None))
        .options(joinedload(Proposal.organisation).joinedload(CommunityOrganisation.settlement))
    )
    if state is not None:
        query = query.where(Proposal.state == state)
    if settlement_id is not None:
        query = query.where(CommunityOrganisation.settlement_id == settlement_id)
    if sort == "waiting":
        return query.order_by(
            case((_awaiting_response(), 0), else_=1), Proposal.submitted_at, Proposal.id
        )
    return query.order_by(Proposal.submitted_at.desc(), Proposal.id.desc())


@dataclass(frozen=True)
class InboxSummary:
    waiting: int
    overdue: int


def inbox_summary(municipality: Municipality, now: datetime) -> InboxSummary:
    """How many proposals wait for a first response, and how many of them are overdue."""
    awaiting = _awaiting_response()
    late = and_(awaiting, Proposal.submitted_at <= _overdue_cutoff(municipality, now))
    waiting, overdue = db.session.execute(
        select(func.count(case((awaiting, 1))), func.count(case((late, 1)))).where(
            Proposal.municipality_id == municipality.id, Proposal.submitted_at.is_not(None)
        )
    ).one()
    return InboxSummary(waiting=waiting or 0, overdue=overdue or 0)


def awaiting_response(proposal: Proposal) -> bool:
    return proposal.first_response_at is None and proposal.state in WITH_MUNICIPALITY


def days_waiting(proposal: Proposal, now: datetime) -> int | None:
    """Whole days from submission to the first response, or to ``now`` while none came."""
    if proposal.submitted_at is None:
        return None
    end = proposal.first_response_at or now
    return max((end - proposal.submitted_at).days, 0)


def is_overdue(proposal: Proposal, now: datetime, target_days: int | None = None) -> bool:
    """Waiting for a first response longer than the municipality's target (in whole days):
    exactly the target is on time, one day more is overdue."""
    if not awaiting_response(proposal):
        return False
    if target_days is None:
        target_days = proposal.municipality.response_target_days
    return days_waiting(proposal, now) > target_days


@dataclass(frozen=True)
class InboxEntry:
    proposal: Proposal
    submitted_on: date
    days_waiting: int
    awaiting: bool
    overdue: bool
    unread: int


def inbox_entries(
    proposals: list[Proposal], municipality: Municipality, user: User, now: datetime
) -> list[InboxEntry]:
    """One page of the inbox with what each row shows; unread counts in one query."""
    unread = unread_counts(user, [p.id for p in proposals])
    zone = ZoneInfo(municipality.timezone)
    return [
        InboxEntry(
            proposal=p,
            submitted_on=p.submitted_at.astimezone(zone).date(),
            days_waiting=days_waiting(p, now),
            awaiting=awaiting_response(p),
            overdue=is_overdue(p, now, municipality.response_target_days),
            unread=unread.get(p.id, 0),
        )
        for p in proposals
    ]


# --- the thread -----------------------------------------------------------------------------


def thread_messages(proposal: Proposal) -> list[Message]:
    """The proposal's messages, oldest first, with authors and versions loaded."""
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.proposal_id == proposal.id)
            .options(selectinload(Message.author), selectinload(Message.version))
            .order_by(Message.created_at, Message.id)
        )
    )


def side_of(user: User, proposal: Proposal) -> Side | None:
    """Which side of the thread ``user`` speaks for on ``proposal``."""
    if is_officer_of(user, proposal.municipality_id):
        return Side.MUNICIPALITY
    if is_member(user, proposal.co_id):
        return Side.COMMUNITY
    if user.is_staff:
        return Side.PROGRAMME
    return None


def writable_kinds(user: User, proposal: Proposal) -> list[MessageKind]:
    """The kinds of free message ``user`` may post now: comments, and questions for the
    municipality's officer while the workflow allows one."""
    if not can(user, "write", proposal):
        return []
    kinds = [MessageKind.COMMENT]
    if can(user, "question", proposal):
        kinds.append(MessageKind.QUESTION)
    return kinds


def post_message(
    proposal: Proposal, by: User, kind: MessageKind, body: str | None, **offer
) -> Message:
    """Post a comment or question by ``by`` in ``proposal``'s thread.

    A question from the municipality's officer moves the proposal to negotiating. ``offer``
    is reserved for counter-offers (``offer_municipal_share=…``), which are not built yet.
    """
    if offer or kind == MessageKind.COUNTER_OFFER:
        raise NegotiationError(_l("Counter-offers cannot be made here yet."))
    if not can(by, "write", proposal):
        raise NegotiationError(_l("You cannot write in this thread now."))
    if kind not in writable_kinds(by, proposal):
        raise NegotiationError(_l("You cannot post a message of this kind now."))
    body = _clean_body(body, required=True)
    if kind == MessageKind.QUESTION:
        # Asking again while negotiating changes nothing: no "state changed" notice then.
        apply_transition(
            proposal,
            "question",
            by,
            notify_other_side=proposal.state != ProposalState.NEGOTIATING,
        )
    return _add_message(proposal, by, kind, body)


def acknowledge(proposal: Proposal, by: User, note: str | None = None) -> Message:
    """The officer confirms receipt: submitted → under review, with a status note."""
    _lock(proposal)
    note = _clean_body(note, required=False)
    apply_transition(proposal, "acknowledge", by)
    return _add_message(
        proposal, by, MessageKind.STATUS_NOTE, note, version=_latest_version(proposal)
    )


def accept(
    proposal: Proposal, by: User, version_id: int | None, note: str | None = None
) -> Message:
    """The officer accepts exactly the latest version: → agreed.

    ``version_id`` is the version the officer was shown; when a newer one exists (or it is
    not this proposal's), acceptance is refused, so nobody agrees to terms they did not read.
    """
    _lock(proposal)
    note = _clean_body(note, required=False)
    latest = _latest_version(proposal)
    if latest is None or latest.id != version_id:
        raise NegotiationError(
            _l(
                "The terms have changed since you opened the page. "
                "Read the latest version and accept again."
            )
        )
    apply_transition(proposal, "accept", by, version=latest.number)
    now = utcnow()
    latest.agreed_at = now
    latest.agreed_by_id = by.id
    proposal.agreed_at = now
    return _add_message(
        proposal, by, MessageKind.DECISION, note, decision=Decision.ACCEPT, version=latest
    )


def decline(proposal: Proposal, by: User, reason: str | None) -> Message:
    """The officer declines, giving the community a reason: → declined."""
    _lock(proposal)
    reason = _clean_body(reason, required=False)
    if not reason:
        raise NegotiationError(_l("Give the reason for declining; the community will read it."))
    apply_transition(proposal, "decline", by, reason=reason)
    return _add_message(
        proposal,
        by,
        MessageKind.DECISION,
        reason,
        decision=Decision.DECLINE,
        version=_latest_version(proposal),
    )


# --- helpers --------------------------------------------------------------------------------


def _clean_body(body: str | None, *, required: bool) -> str | None:
    body = (body or "").strip()
    if required and not body:
        raise NegotiationError(_l("Write your message."))
    if len(body) > MAX_BODY:
        raise NegotiationError(_l("At most %(max)d characters.", max=MAX_BODY))
    return body or None


def _lock(proposal: Proposal) -> None:
    """Reload the proposal under a row lock (PostgreSQL), so two officers acting at once, or
    an officer and a new version, are serialised and each sees the other's state."""
    db.session.refresh(proposal, with_for_update=True)


def _latest_version(proposal: Proposal) -> ProposalVersion | None:
    # Asked of the database, not of a collection loaded earlier in the request.
    return db.session.scalar(
        select(ProposalVersion)
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(ProposalVersion.number.desc())
        .limit(1)
    )


def _add_message(
    proposal: Proposal,
    by: User,
    kind: MessageKind,
    body: str | None,
    *,
    decision: Decision | None = None,
    version: ProposalVersion | None = None,
    **offer,
) -> Message:
    """Store a message, start the response clock if the municipality speaks first, audit it
    and tell the other side."""
    side = side_of(by, proposal)
    if side is None:
        raise NegotiationError(_l("You cannot write in this thread."))
    message = Message(
        proposal_id=proposal.id,
        author_id=by.id,
        side=side,
        kind=kind,
        body=body,
        decision=decision,
        version_id=version.id if version is not None else None,
        **offer,
    )
    db.session.add(message)
    if side == Side.MUNICIPALITY and proposal.first_response_at is None:
        proposal.first_response_at = utcnow()
    db.session.flush()
    record(
        "message.posted",
        message,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        kind=kind,
        side=side,
        decision=decision,
    )
    notify(
        people_to_tell(proposal, by),
        "message.posted",
        link=_thread_link(proposal),
        proposal_id=proposal.id,
        title=proposal.title,
        author=by.name,
    )
    return message


def _thread_link(proposal: Proposal) -> str | None:
    try:
        return url_for("negotiation.thread", proposal_id=proposal.id)
    except RuntimeError:  # outside a request (CLI, seed data): no link, the notice still reads
        return None
