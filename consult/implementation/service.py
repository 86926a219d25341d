"""The works after agreement: start, progress updates with photos, residents' comments,
completion.

Services check the rule, change state, write the audit event, notify and flush. They never
commit, touch the request or render; the view commits once. Start and completion are workflow
transitions and go through :func:`consult.proposals.service.apply_transition`.

Progress may go down (a washed-out lane, a measurement corrected) but only with a note saying
why, so the CO never sees the bar shrink without an explanation.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from consult.attachments import service as attachments
from consult.attachments.models import Attachment
from consult.audit.service import record
from consult.auth.models import User
from consult.communities.service import members_of
from consult.core import localtime
from consult.core.db import utcnow
from consult.core.enums import ProblemStatus, ProposalState
from consult.core.formatting import local_date
from consult.core.numbers import stored_amount
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.implementation.models import ImplementationUpdate
from consult.notifications.service import link_to, notify
from consult.proposals.models import Proposal
from consult.proposals.service import (
    apply_transition,
    check_transition,
    officers_of,
    people_to_tell,
)

#: longest note or comment the service accepts (the forms say the same)
MAX_NOTE = 5000


class ImplementationError(Refusal):
    """A readable reason a works record was refused; ``field`` names the form field."""


def local_today(proposal: Proposal, now: datetime | None = None) -> date:
    """Today's date where the works are (the municipality's time zone)."""
    return localtime.local_today(proposal.municipality.timezone, now)


def _check_day(proposal: Proposal, day: date | None, field: str, today: date) -> date:
    if day is None:
        raise ImplementationError(_l("Enter the date."), field=field)
    if day > today:
        raise ImplementationError(_l("The date cannot be in the future."), field=field)
    return day


# --- start and completion -------------------------------------------------------------------


def start_works(
    proposal: Proposal,
    by: User,
    started_on: date | None,
    *,
    today: date | None = None,
    now: datetime | None = None,
) -> None:
    """Agreed → in progress, with the day works started (not before the agreement, not in
    the future). Audited; the CO's leaders are told."""
    check_transition(proposal, "start", by)
    today = today or local_today(proposal, now)
    started_on = _check_day(proposal, started_on, "started_on", today)
    if proposal.agreed_at is not None:
        agreed_on = local_today(proposal, proposal.agreed_at)
        if started_on < agreed_on:
            raise ImplementationError(
                _l(
                    "Works cannot start before the agreement of %(date)s.",
                    date=local_date(agreed_on),
                ),
                field="started_on",
            )
    proposal.started_on = started_on
    apply_transition(proposal, "start", by, now=now, started_on=started_on)


def complete_works(
    proposal: Proposal,
    by: User,
    *,
    completed_on: date | None,
    actual_cost: Decimal | None,
    households_benefited: int | None,
    today: date | None = None,
    now: datetime | None = None,
) -> list[int]:
    """In progress → completed, with the completion date, the actual cost and the households
    actually benefiting (all required). Progress becomes 100% and the problems the proposal
    answers are marked resolved. Returns the ids of the problems it resolved."""
    check_transition(proposal, "complete", by)
    today = today or local_today(proposal, now)
    completed_on = _check_day(proposal, completed_on, "completed_on", today)
    if proposal.started_on and completed_on < proposal.started_on:
        raise ImplementationError(
            _l(
                "Works cannot end before they started (%(date)s).",
                date=local_date(proposal.started_on),
            ),
            field="completed_on",
        )
    if actual_cost is None:
        raise ImplementationError(_l("Enter the actual cost."), field="actual_cost")
    actual_cost = stored_amount(actual_cost, proposal.currency, "actual_cost")
    if actual_cost < 0:
        raise ImplementationError(_l("An amount cannot be negative."), field="actual_cost")
    if households_benefited is None:
        raise ImplementationError(
            _l("Enter the number of households benefiting."), field="households_benefited"
        )
    if households_benefited < 0:
        raise ImplementationError(_l("Cannot be negative."), field="households_benefited")

    now = now or utcnow()
    before = proposal.progress_percent
    proposal.completed_on = completed_on
    proposal.actual_cost = actual_cost
    proposal.households_benefited = households_benefited
    proposal.progress_percent = 100
    resolved = []
    for pr in proposal.problems:
        if pr.status != ProblemStatus.RESOLVED:
            pr.status = ProblemStatus.RESOLVED
            pr.updated_at = now
            resolved.append(pr.id)
    db.session.flush()
    apply_transition(
        proposal,
        "complete",
        by,
        now=now,
        completed_on=completed_on,
        actual_cost=actual_cost,
        households_benefited=households_benefited,
        progress_before=before,
        problems_resolved=resolved,
    )
    return resolved


# --- updates and comments -------------------------------------------------------------------


def post_update(
    proposal: Proposal,
    by: User,
    *,
    progress: int | None,
    note: str | None = None,
    spent: Decimal | None = None,
    uploads: Iterable = (),
    now: datetime | None = None,
) -> ImplementationUpdate:
    """A progress report by the municipality or staff while works are in progress: the new
    percentage, an optional note, spending and photos. Going backwards needs a note."""
    if proposal.state != ProposalState.IN_PROGRESS:
        raise ImplementationError(_l("Progress can only be reported while works are under way."))
    if progress is None or not 0 <= progress <= 100:
        raise ImplementationError(_l("Enter a percentage from 0 to 100."), field="progress")
    note = _clean_note(note)
    uploads = list(uploads)
    if spent is not None:
        spent = stored_amount(spent, proposal.currency, "spent")
        if spent < 0:
            raise ImplementationError(_l("An amount cannot be negative."), field="spent")
    before = proposal.progress_percent
    if progress < before and not note:
        raise ImplementationError(
            _l(
                "Progress goes down from %(before)d%% to %(after)d%%: say why in the note.",
                before=before,
                after=progress,
            ),
            field="note",
        )
    if progress == before and not note and spent is None and not uploads:
        raise ImplementationError(
            _l("Nothing new to report: change the progress, or add a note, spending or photos.")
        )
    now = now or utcnow()
    update = ImplementationUpdate(
        proposal_id=proposal.id,
        author_id=by.id,
        progress_percent=progress,
        note=note,
        spent=spent,
        created_at=now,
    )
    db.session.add(update)
    db.session.flush()
    files = attachments.store(uploads, owner=update, by=by)
    proposal.progress_percent = progress
    proposal.updated_at = now
    record(
        "implementation.updated",
        update,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        before=before,
        after=progress,
        spent=spent,
        photos=[a.id for a in files],
    )
    notify(
        _co_side(proposal, by),
        "implementation.updated",
        link=link_to("implementation.show", proposal_id=proposal.id),
        proposal_id=proposal.id,
        title=proposal.title,
        progress=progress,
        author=by.name,
    )
    return update


def comment(
    proposal: Proposal, by: User, note: str | None, *, uploads: Iterable = ()
) -> ImplementationUpdate:
    """A resident's comment on the works (an update without a percentage), with optional
    photos, while works are under way or after they are done."""
    if proposal.state not in (ProposalState.IN_PROGRESS, ProposalState.COMPLETED):
        raise ImplementationError(_l("Comments open when works start."))
    note = _clean_note(note)
    if not note:
        raise ImplementationError(_l("Write your comment."), field="note")
    update = ImplementationUpdate(proposal_id=proposal.id, author_id=by.id, note=note)
    db.session.add(update)
    db.session.flush()
    files = attachments.store(list(uploads), owner=update, by=by)
    record(
        "implementation.commented",
        update,
        by,
        proposal_id=proposal.id,
        co_id=proposal.co_id,
        photos=[a.id for a in files],
    )
    notify(
        people_to_tell(proposal, by),
        "implementation.commented",
        link=link_to("implementation.show", proposal_id=proposal.id),
        proposal_id=proposal.id,
        title=proposal.title,
        author=by.name,
    )
    return update


def _clean_note(note: str | None) -> str | None:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ImplementationError(_l("At most %(n)d characters, please.", n=MAX_NOTE), field="note")
    return note or None


def _co_side(proposal: Proposal, by: User) -> list[User]:
    """Who hears of a progress report: every current member of the CO (they live with the
    works and may comment), and the municipality's officers when staff wrote it."""
    people = list(members_of(proposal.co_id))
    if not by.is_officer:
        people += officers_of(proposal.municipality_id)
    return [u for u in people if u.id != by.id]


# --- reading --------------------------------------------------------------------------------


def updates_of(proposal: Proposal) -> list[ImplementationUpdate]:
    """Updates and comments, newest first."""
    return list(
        db.session.scalars(
            select(ImplementationUpdate)
            .where(ImplementationUpdate.proposal_id == proposal.id)
            .order_by(ImplementationUpdate.created_at.desc(), ImplementationUpdate.id.desc())
        )
    )


def photos_by_update(updates: list[ImplementationUpdate]) -> dict[int, list[Attachment]]:
    """The attachments of all ``updates`` in one query, by update id."""
    ids = [u.id for u in updates]
    found: dict[int, list[Attachment]] = {i: [] for i in ids}
    if ids:
        rows = db.session.scalars(
            select(Attachment).where(Attachment.update_id.in_(ids)).order_by(Attachment.id)
        )
        for a in rows:
            found[a.update_id].append(a)
    return found


def reported_spending(updates: list[ImplementationUpdate]) -> Decimal | None:
    amounts = [u.spent for u in updates if u.spent is not None]
    return sum(amounts, Decimal("0")) if amounts else None
