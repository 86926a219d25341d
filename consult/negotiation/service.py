"""The negotiation thread between a CO and its municipality, and the municipality's inbox.

Services check the rule, change state, write the audit event, notify and flush. They never
commit, touch the request or render; the view commits once. Every state change goes through
:func:`consult.proposals.service.apply_transition`.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, select
from sqlalchemy.orm import joinedload, selectinload

from consult.attachments.models import Attachment
from consult.attachments.service import Upload, store
from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Municipality
from consult.core.db import utcnow
from consult.core.enums import (
    Decision,
    MessageKind,
    ProposalState,
    Side,
)
from consult.core.pages import (
    COUNT_CAP,
    Count,
    KeysetPage,
    as_count,
    bounded_count,
    bounded_count_sql,
    keyset_page,
)
from consult.core.permissions import can, is_member, is_officer_of
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.negotiation.models import Message
from consult.negotiation.reads import (  # noqa: F401  (kept here: callers ask the service)
    mark_read,
    unread_counts,
    unread_in_co,
)
from consult.notifications.service import link_to, notify
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.service import apply_transition, people_to_tell
from consult.proposals.workflow import WITH_MUNICIPALITY

#: longest message body the service accepts (the form says the same)
MAX_BODY = 5000


class NegotiationError(Refusal):
    """A readable reason a message or a decision was refused, for the page."""


# --- the inbox ------------------------------------------------------------------------------


def _awaiting_response():
    """SQL: still with the municipality and never answered."""
    return and_(Proposal.first_response_at.is_(None), Proposal.state.in_(WITH_MUNICIPALITY))


def _overdue_cutoff(municipality: Municipality, now: datetime) -> datetime:
    # Overdue means more whole days waiting than the target: submitted at or before
    # now - (target + 1) days. Exactly the target is still on time.
    return now - timedelta(days=municipality.response_target_days + 1)


def _inbox_filtered(
    municipality: Municipality, state: ProposalState | None, settlement_id: int | None
) -> Select:
    query = select(Proposal).where(
        Proposal.municipality_id == municipality.id, Proposal.submitted_at.is_not(None)
    )
    if state is not None:
        query = query.where(Proposal.state == state)
    if settlement_id is not None:
        query = query.where(
            Proposal.co_id.in_(
                select(CommunityOrganisation.id).where(
                    CommunityOrganisation.settlement_id == settlement_id
                )
            )
        )
    return query


def _waiting_rank():
    """SQL: 0 for a proposal still waiting for its first response, 1 otherwise."""
    return case((_awaiting_response(), 0), else_=1)


def inbox_page(
    municipality: Municipality,
    *,
    state: ProposalState | None = None,
    settlement_id: int | None = None,
    sort: str = "newest",
    after: str | None = None,
    before: str | None = None,
    per_page: int = 20,
) -> KeysetPage:
    """One page of the proposals submitted to ``municipality``, filtered and sorted.

    ``sort`` is ``newest`` (latest submission first) or ``waiting`` (those still waiting for a
    first response first, the longest-waiting at the top; then the answered ones, oldest
    first). Pages are read by keyset on ``(submitted_at, id)``, which the index
    ``ix_proposals_municipality_submitted`` serves: page 200 costs what page 1 does.
    """
    # each row's CO and settlement joined in (one of each per row: no second query)
    query = _inbox_filtered(municipality, state, settlement_id).options(
        joinedload(Proposal.organisation).joinedload(CommunityOrganisation.settlement)
    )
    if sort == "waiting":
        return keyset_page(
            query,
            [_waiting_rank(), Proposal.submitted_at, Proposal.id],
            key=lambda p: [0 if awaiting_response(p) else 1, p.submitted_at, p.id],
            after=after,
            before=before,
            per_page=per_page,
            descending=False,
        )
    return keyset_page(
        query,
        [Proposal.submitted_at, Proposal.id],
        after=after,
        before=before,
        per_page=per_page,
    )


@dataclass(frozen=True)
class InboxSummary:
    """The inbox's counts, each stopping at the cap (``1,000+``): the proposals the filtered
    list holds; of all submitted ones, those waiting for a first response, and of these the
    overdue ones."""

    total: Count
    waiting: Count
    overdue: Count


def inbox_summary(
    municipality: Municipality,
    now: datetime,
    *,
    state: ProposalState | None = None,
    settlement_id: int | None = None,
    cap: int = COUNT_CAP,
) -> InboxSummary:
    """The inbox's counts in one statement, none reading more than ``cap + 1`` rows (the
    index ``ix_proposals_municipality_awaiting`` serves the waiting and overdue ones)."""
    submitted = _inbox_filtered(municipality, None, None)
    waiting = submitted.where(_awaiting_response())
    late = waiting.where(Proposal.submitted_at <= _overdue_cutoff(municipality, now))
    counts = [
        bounded_count_sql(query, cap)
        for query in (_inbox_filtered(municipality, state, settlement_id), waiting, late)
    ]
    total, waiting_n, overdue = db.session.execute(select(*counts)).one()
    return InboxSummary(
        total=as_count(total, cap), waiting=as_count(waiting_n, cap), overdue=as_count(overdue, cap)
    )


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


#: how many messages a page of the thread shows
THREAD_PAGE = 30


def thread_messages(proposal: Proposal) -> list[Message]:
    """All the proposal's messages, oldest first, with authors and versions loaded (for the
    printable dossier; the thread page reads :func:`thread_page`)."""
    return list(
        db.session.scalars(
            select(Message)
            .where(Message.proposal_id == proposal.id)
            .options(selectinload(Message.author), selectinload(Message.version))
            .order_by(Message.created_at, Message.id)
        )
    )


def thread_page(
    proposal: Proposal,
    *,
    earlier_than: str | None = None,
    later_than: str | None = None,
    per_page: int = THREAD_PAGE,
) -> KeysetPage:
    """The latest ``per_page`` messages of the thread, or those before (or after) a cursor,
    newest first in ``items`` (the page shows them reversed, oldest first). Keyset on
    ``ix_messages_proposal_order``: a thread of 500 messages costs what one of 30 does."""
    return keyset_page(
        select(Message)
        .where(Message.proposal_id == proposal.id)
        .options(selectinload(Message.author), selectinload(Message.version)),
        [Message.created_at, Message.id],
        after=earlier_than,
        before=later_than,
        per_page=per_page,
    )


def message_count(proposal: Proposal) -> Count:
    return bounded_count(select(Message.id).where(Message.proposal_id == proposal.id))


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
    proposal: Proposal,
    by: User,
    kind: MessageKind,
    body: str | None,
    *,
    uploads: Iterable[Upload] = (),
    now: datetime | None = None,
    **offer,
) -> Message:
    """Post a comment or question by ``by`` in ``proposal``'s thread, with checked files.

    A question from the municipality's officer moves the proposal to negotiating.
    Counter-offers have their own service, :func:`counter_offer`, with structured terms.
    """
    if offer or kind == MessageKind.COUNTER_OFFER:
        raise NegotiationError(_l("Use the counter-offer form to propose other terms."))
    if not can(by, "write", proposal):
        raise NegotiationError(_l("You cannot write in this thread now."))
    if kind not in writable_kinds(by, proposal):
        raise NegotiationError(_l("You cannot post a message of this kind now."))
    body = clean_body(body, required=True)
    if kind == MessageKind.QUESTION:
        # Asking again while negotiating changes nothing: no "state changed" notice then.
        apply_transition(
            proposal,
            "question",
            by,
            notify_other_side=proposal.state != ProposalState.NEGOTIATING,
            now=now,
        )
    message = add_message(proposal, by, kind, body, now=now)
    store(uploads, owner=message, by=by)
    return message


def acknowledge(
    proposal: Proposal, by: User, note: str | None = None, *, now: datetime | None = None
) -> Message:
    """The officer confirms receipt: submitted → under review, with a status note."""
    lock_proposal(proposal)
    note = clean_body(note, required=False)
    apply_transition(proposal, "acknowledge", by, now=now)
    return add_message(
        proposal, by, MessageKind.STATUS_NOTE, note, version=latest_version(proposal), now=now
    )


def accept(
    proposal: Proposal,
    by: User,
    version_id: int | None,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> Message:
    """The officer accepts exactly the latest version: → agreed.

    ``version_id`` is the version the officer was shown; when a newer one exists (or it is
    not this proposal's), acceptance is refused, so nobody agrees to terms they did not read.
    """
    lock_proposal(proposal)
    note = clean_body(note, required=False)
    latest = latest_version(proposal)
    if latest is None or latest.id != version_id:
        raise NegotiationError(
            _l(
                "The terms have changed since you opened the page. "
                "Read the latest version and accept again."
            )
        )
    now = now or utcnow()
    apply_transition(proposal, "accept", by, now=now, version=latest.number)
    latest.agreed_at = now
    latest.agreed_by_id = by.id
    proposal.agreed_at = now
    return add_message(
        proposal,
        by,
        MessageKind.DECISION,
        note,
        decision=Decision.ACCEPT,
        version=latest,
        now=now,
    )


def decline(
    proposal: Proposal, by: User, reason: str | None, *, now: datetime | None = None
) -> Message:
    """The officer declines, giving the community a reason: → declined."""
    lock_proposal(proposal)
    reason = clean_body(reason, required=False)
    if not reason:
        raise NegotiationError(_l("Give the reason for declining; the community will read it."))
    apply_transition(proposal, "decline", by, now=now, reason=reason)
    return add_message(
        proposal,
        by,
        MessageKind.DECISION,
        reason,
        decision=Decision.DECLINE,
        version=latest_version(proposal),
        now=now,
    )


# --- response clock -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseClock:
    """How long the municipality took (or is taking) to give a first response."""

    submitted_at: datetime | None
    first_response_at: datetime | None
    days: int | None
    target: int
    awaiting: bool
    overdue: bool


def response_clock(proposal: Proposal, now: datetime) -> ResponseClock:
    """The thread's clock, by the same rules as the inbox (:func:`days_waiting`,
    :func:`is_overdue`)."""
    target = proposal.municipality.response_target_days
    return ResponseClock(
        submitted_at=proposal.submitted_at,
        first_response_at=proposal.first_response_at,
        days=days_waiting(proposal, now),
        target=target,
        awaiting=awaiting_response(proposal),
        overdue=is_overdue(proposal, now, target),
    )


def message_attachments(messages: list[Message]) -> dict[int, list[Attachment]]:
    """The files of a page of messages, by message id, in one query."""
    ids = [m.id for m in messages]
    if not ids:
        return {}
    files: dict[int, list[Attachment]] = {}
    for a in db.session.scalars(
        select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.id)
    ):
        files.setdefault(a.message_id, []).append(a)
    return files


# --- helpers --------------------------------------------------------------------------------


def clean_body(body: str | None, *, required: bool) -> str | None:
    body = (body or "").strip()
    if required and not body:
        raise NegotiationError(_l("Write your message."))
    if len(body) > MAX_BODY:
        raise NegotiationError(_l("At most %(max)d characters.", max=MAX_BODY))
    return body or None


def lock_proposal(proposal: Proposal) -> None:
    """Reload the proposal under a row lock (PostgreSQL), so two officers acting at once, or
    an officer and a new version, are serialised and each sees the other's state.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: it serialises the writers of the proposal all
    the same, but lets a row that merely points at the proposal (a ballot's audit event, a
    message) be inserted meanwhile. With ``FOR UPDATE`` a leader closing the members' vote on
    a counter-offer (proposal, then round) and a member's ballot (round, then its audit row
    pointing at the proposal) deadlocked. See ``consult/core/locking.py`` for the order."""
    db.session.refresh(proposal, with_for_update={"key_share": True})


def latest_version(proposal: Proposal) -> ProposalVersion | None:
    # Asked of the database, not of a collection loaded earlier in the request.
    return db.session.scalar(
        select(ProposalVersion)
        .where(ProposalVersion.proposal_id == proposal.id)
        .order_by(ProposalVersion.number.desc())
        .limit(1)
    )


def add_message(
    proposal: Proposal,
    by: User,
    kind: MessageKind,
    body: str | None,
    *,
    decision: Decision | None = None,
    version: ProposalVersion | None = None,
    now: datetime | None = None,
    **offer,
) -> Message:
    """Store a message, start the response clock if the municipality speaks first, audit it
    and tell the other side."""
    side = side_of(by, proposal)
    if side is None:
        raise NegotiationError(_l("You cannot write in this thread."))
    now = now or utcnow()
    message = Message(
        proposal_id=proposal.id,
        author_id=by.id,
        side=side,
        kind=kind,
        body=body,
        decision=decision,
        version_id=version.id if version is not None else None,
        created_at=now,
        **offer,
    )
    db.session.add(message)
    if side == Side.MUNICIPALITY and proposal.first_response_at is None:
        proposal.first_response_at = now
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
        link=link_to("negotiation.thread", proposal_id=proposal.id, _anchor=f"m{message.id}"),
        proposal_id=proposal.id,
        title=proposal.title,
        author=by.name,
        message_kind=kind.value,  # the notice names what is asked (a decision, an answer)
    )
    return message
