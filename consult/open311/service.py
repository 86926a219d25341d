"""Problems as Open311 GeoReport v2 service requests, and the keys that file them.

Service codes are the problem categories. A request is open while its problem is open or
addressed by a proposal, closed once resolved or closed; ``status_notes`` is the
municipality's latest reply in the thread of a proposal answering the problem.
"""

import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consult.attachments.models import Attachment
from consult.audit.service import record
from consult.auth.models import User
from consult.communities.models import CommunityOrganisation, Settlement
from consult.core.db import utcnow
from consult.core.enums import ProblemCategory, ProblemStatus, Side
from consult.core.permissions import can
from consult.core.refusal import Refusal
from consult.core.tokens import hash_secret
from consult.extensions import db
from consult.negotiation.models import Message
from consult.open311.models import Open311Key
from consult.problems import service as problems
from consult.problems.models import Problem
from consult.proposals.models import proposal_problems

KEY_PREFIX = "o311_"
#: at most this many requests in one answer, newest first
MAX_REQUESTS = 1000
#: without dates, the spec's default window
DEFAULT_DAYS = 90
OPEN = (ProblemStatus.OPEN, ProblemStatus.ADDRESSED)
CLOSED = (ProblemStatus.RESOLVED, ProblemStatus.CLOSED)


class Open311Error(Refusal):
    """A request the spec or our rules refuse; ``status`` is the HTTP status to answer."""

    def __init__(self, message, status: int = 400):
        super().__init__(message)
        self.status = status


# --- keys -----------------------------------------------------------------------------------


def issue_key(co: CommunityOrganisation, *, by: User, name: str | None) -> tuple[Open311Key, str]:
    """A new key filing problems for ``co``; returns the row and the key, shown once."""
    secret = KEY_PREFIX + secrets.token_urlsafe(24)
    key = Open311Key(
        co_id=co.id,
        key_hash=hash_secret(secret),
        prefix=secret[:10],
        name=(name or "").strip() or None,
        issued_by_id=by.id,
    )
    db.session.add(key)
    db.session.flush()
    record("open311_key.issued", key, by, co_id=co.id, key_id=key.id)
    return key, secret


def keys_of(co: CommunityOrganisation) -> list[Open311Key]:
    return list(
        db.session.scalars(
            select(Open311Key).where(Open311Key.co_id == co.id).order_by(Open311Key.id.desc())
        )
    )


def revoke_key(key: Open311Key, *, by: User) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record("open311_key.revoked", key, by, co_id=key.co_id, key_id=key.id)


def find_key(secret: str | None) -> Open311Key | None:
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    key = db.session.scalar(select(Open311Key).where(Open311Key.key_hash == hash_secret(secret)))
    return key if key is not None and key.revoked_at is None else None


# --- services -------------------------------------------------------------------------------


def services() -> list[dict]:
    return [
        {
            "service_code": c.value,
            "service_name": str(c.label),
            "description": str(c.label),
            "metadata": False,
            "type": "realtime",
            "keywords": c.value,
            "group": "problems",
        }
        for c in ProblemCategory
    ]


def service_definition(code: str) -> dict:
    if code not in {c.value for c in ProblemCategory}:
        raise Open311Error(_l("No such service_code."), status=404)
    return {"service_code": code, "attributes": []}


# --- requests -------------------------------------------------------------------------------


def _w3(value: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(_l("%(name)s is not a W3C date and time.", name=name)) from None
    if when.tzinfo is None:
        raise Open311Error(_l("%(name)s needs a time zone, e.g. Z.", name=name))
    if not 1900 <= when.year <= 2200:
        raise Open311Error(_l("%(name)s is out of range.", name=name))
    return when


def _ids(raw: str) -> list[int]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part.isdigit() or len(part) > 10:
            raise Open311Error(_l("service_request_id must be numbers, comma-separated."))
        ids.append(int(part))
    return ids


def find_requests(args, *, co_id: int | None) -> list[Problem]:
    """Problems matching the spec's filters: ``service_request_id`` (overrides the others),
    ``service_code``, ``start_date``, ``end_date`` and ``status``, newest first; only CO
    ``co_id``'s problems, or every CO's when ``co_id`` is None (public reads, see
    ``OPEN311_PUBLIC_READS``)."""
    stmt = (
        select(Problem)
        .options(
            selectinload(Problem.organisation)
            .selectinload(CommunityOrganisation.settlement)
            .selectinload(Settlement.municipality)
        )
        .order_by(Problem.id.desc())
        .limit(MAX_REQUESTS)
    )
    if co_id is not None:
        stmt = stmt.where(Problem.co_id == co_id)
    if args.get("service_request_id"):
        return list(
            db.session.scalars(stmt.where(Problem.id.in_(_ids(args["service_request_id"]))))
        )
    if args.get("service_code"):
        codes = [c.strip() for c in args["service_code"].split(",") if c.strip()]
        known = {c.value for c in ProblemCategory}
        if not set(codes) <= known:
            raise Open311Error(_l("Unknown service_code."))
        stmt = stmt.where(Problem.category.in_([ProblemCategory(c) for c in codes]))
    if args.get("status"):
        wanted = {s.strip() for s in args["status"].split(",") if s.strip()}
        if not wanted <= {"open", "closed"}:
            raise Open311Error(_l("status is open or closed."))
        statuses = [*(OPEN if "open" in wanted else ()), *(CLOSED if "closed" in wanted else ())]
        stmt = stmt.where(Problem.status.in_(statuses))
    start = _w3(args["start_date"], "start_date") if args.get("start_date") else None
    end = _w3(args["end_date"], "end_date") if args.get("end_date") else None
    if start is None and end is None:
        start = utcnow() - timedelta(days=DEFAULT_DAYS)
    if start is not None:
        stmt = stmt.where(Problem.created_at >= start)
    if end is not None:
        stmt = stmt.where(Problem.created_at <= end)
    return list(db.session.scalars(stmt))


def latest_replies(problem_ids: list[int]) -> dict[int, Message]:
    """For each problem, the municipality's latest message about a proposal answering it."""
    if not problem_ids:
        return {}
    rows = db.session.execute(
        select(proposal_problems.c.problem_id, Message)
        .join(Message, Message.proposal_id == proposal_problems.c.proposal_id)
        .where(proposal_problems.c.problem_id.in_(problem_ids), Message.side == Side.MUNICIPALITY)
        .order_by(Message.created_at.desc(), Message.id.desc())
    )
    latest: dict[int, Message] = {}
    for problem_id, message in rows:
        latest.setdefault(problem_id, message)
    return latest


def first_photos(problem_ids: list[int]) -> dict[int, Attachment]:
    """Each problem's first photo (stored re-encoded at display size, without metadata)."""
    if not problem_ids:
        return {}
    photos: dict[int, Attachment] = {}
    for a in db.session.scalars(
        select(Attachment)
        .where(Attachment.problem_id.in_(problem_ids), Attachment.content_type.like("image/%"))
        .order_by(Attachment.id)
    ):
        photos.setdefault(a.problem_id, a)
    return photos


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def as_requests(found: list[Problem], media_url) -> list[dict]:
    """Problems with the spec's field names, in a fixed number of statements.
    ``media_url(attachment)`` makes a photo's link."""
    ids = [p.id for p in found]
    replies, photos = latest_replies(ids), first_photos(ids)
    return [_as_request(p, replies.get(p.id), photos.get(p.id), media_url) for p in found]


def _as_request(problem: Problem, reply: Message | None, photo, media_url) -> dict:
    notes = None
    if reply is not None:
        notes = reply.body or str(reply.kind.label)
    return {
        "service_request_id": str(problem.id),
        "status": "open" if problem.status in OPEN else "closed",
        "status_notes": notes,
        "service_name": str(problem.category.label),
        "service_code": problem.category.value,
        "description": problem.description or problem.title,
        "agency_responsible": problem.organisation.settlement.municipality.name,
        "service_notice": None,
        "requested_datetime": _iso(problem.created_at),
        "updated_datetime": _iso(problem.updated_at or problem.created_at),
        "expected_datetime": None,
        "address": problem.location,
        "address_id": None,
        "zipcode": None,
        "lat": problem.latitude,
        "long": problem.longitude,
        "media_url": media_url(photo) if photo is not None else None,
    }


def _float(raw: str | None, name: str, low: float, high: float) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(_l("%(name)s is not a number.", name=name)) from None
    if not low <= value <= high:
        raise Open311Error(_l("%(name)s is out of range.", name=name))
    return value


def _clean(raw: str | None, most: int) -> str | None:
    text = (raw or "").strip()
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise Open311Error(_l("Control characters are not allowed."))
    return text[:most] or None


def file_request(key: Open311Key, form) -> Problem:
    """A new problem for the key's CO, reported as by the leader who issued the key (who
    must still be allowed to report for it)."""
    co = key.organisation
    by = key.issued_by
    if not can(by, "report_problem", co):
        raise Open311Error(_l("This api_key may no longer file requests."), status=403)
    code = form.get("service_code") or ""
    if code not in {c.value for c in ProblemCategory}:
        raise Open311Error(_l("Unknown service_code."))
    lat = _float(form.get("lat"), "lat", -90, 90)
    lon = _float(form.get("long"), "long", -180, 180)
    address = _clean(form.get("address_string"), 200)
    if (lat is None or lon is None) and not address:
        raise Open311Error(_l("Give a location: lat and long, or address_string."))
    description = _clean(form.get("description"), 4000)
    title = (description or str(ProblemCategory(code).label)).splitlines()[0][:120]
    return problems.report_problem(
        co,
        by=by,
        title=title,
        category=code,
        description=description,
        location=address,
        latitude=lat if lon is not None else None,
        longitude=lon if lat is not None else None,
    )
