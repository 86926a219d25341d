"""Writing the audit trail. Events are only ever added: updates and deletes are refused."""

from flask import has_request_context, request
from sqlalchemy import ColumnElement, Select, String, cast, event, func, select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow, written
from consult.extensions import db


def record(
    action: str,
    obj,
    actor=None,
    *,
    proposal_id: int | None = None,
    co_id: int | None = None,
    **detail,
) -> AuditEvent:
    """Add an audit event for ``obj`` (flushed so it has an id). Never commits.

    The client address is taken from the request when there is one: it is the only piece of
    request state a service may see, and only for the record.
    """
    if obj.id is None:
        db.session.flush()
    ev = AuditEvent(
        **event_values(
            action,
            type(obj).__name__,
            obj.id,
            actor,
            proposal_id=proposal_id,
            co_id=co_id,
            **detail,
        )
    )
    db.session.add(ev)
    db.session.flush()
    return ev


def event_values(
    action: str,
    object_type: str,
    object_id,
    actor=None,
    *,
    proposal_id: int | None = None,
    co_id: int | None = None,
    **detail,
) -> dict:
    """The columns of an audit event, for a caller that writes it inside a statement of its
    own (an ``INSERT … SELECT``, so a ballot costs no extra statement). ``action`` and
    ``object_id`` may be SQL expressions there; ``actor`` is a user or a user id. The client
    address is taken as :func:`record` takes it."""
    return {
        "at": utcnow(),
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "actor_id": actor if isinstance(actor, int) else getattr(actor, "id", None),
        "proposal_id": proposal_id,
        "co_id": co_id,
        "detail": {k: _plain(v) for k, v in detail.items()},
        "ip": request.remote_addr if has_request_context() else None,
    }


def _plain(value):
    """JSON-friendly form of a detail value (enums, decimals and dates as strings)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def trail_for_proposal(proposal_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.proposal_id == proposal_id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


class AuditIsAppendOnly(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise AuditIsAppendOnly("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AuditIsAppendOnly("audit events cannot be deleted")


# --- versions for conditional GET -------------------------------------------------------------
# Audit events are only ever added, so a CO's audit trail changes with every change in it (a
# vote, a message, a transition, a new member…): a version of its pages, read from an index.

#: how many of the programme's latest audit events a CO's version reads (see events_in)
RECENT_EVENTS = 10_000


def events_in(co_ids) -> ColumnElement:
    """SQL, a scalar: the version of the audit trail of the COs ``co_ids`` (a SQL expression,
    a list or an id) — how many of the programme's latest :data:`RECENT_EVENTS` audit events
    are theirs and the sum of those events' ids, as text (``"12:48213"``: one read).

    A new event in these COs changes both (it brings a new id), and so does one that leaves
    the window as the programme writes more (a harmless new version). Reading the window only
    bounds the cost, whatever a CO's history: a count of all a CO's events grew with it (2 ms
    for a municipality's inbox at 1.26 million events). Two writers may commit out of order
    (a larger id first), which a largest id alone would miss: the later-committed event still
    falls in the window unless :data:`RECENT_EVENTS` events were written meanwhile."""
    where = AuditEvent.co_id.in_(co_ids) if _is_many(co_ids) else AuditEvent.co_id == co_ids
    floor = select(func.max(AuditEvent.id)).scalar_subquery() - RECENT_EVENTS
    count = cast(func.count(), String)
    total = cast(func.coalesce(func.sum(AuditEvent.id), 0), String)
    return select(count + ":" + total).where(where, AuditEvent.id > floor).scalar_subquery()


def events_on(object_type: str, ids) -> ColumnElement:
    """SQL: how many audit events the objects of ``object_type`` with ``ids`` have (a
    settlement's or a municipality's changes, which no CO's count includes)."""
    where = AuditEvent.object_id.in_(ids) if _is_many(ids) else AuditEvent.object_id == ids
    return (
        select(func.count())
        .select_from(AuditEvent)
        # the type written into the SQL: the types' counts differ so much that a bound type
        # made PostgreSQL plan a page's version statement on each request (about 1 ms)
        .where(AuditEvent.object_type == written(object_type, AuditEvent.object_type), where)
        .scalar_subquery()
    )


def _is_many(ids) -> bool:
    return isinstance(ids, list | tuple | Select)
