"""What every API view shares: loading (404), asking ``can`` (403), turning a service's
refusal into 409/422, keyset pages and ``Idempotency-Key``."""

import base64
import binascii
from collections.abc import Callable
from contextlib import contextmanager

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError

from consult.api import auth
from consult.api.schemas import MAX_ID
from consult.core.permissions import can
from consult.core.refusal import Refusal
from consult.extensions import csrf, db
from consult.proposals.workflow import TransitionRefused
from consult.submissions import service as submissions

#: how many rows one page may read looking for rows the caller may see
SCAN_LIMIT = 2000


def load(model, object_id: int):
    """The row, or 404 (ids beyond the column's range do not exist)."""
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None:
        abort(404, message=_("Not found."))
    return obj


def require(action: str, obj=None) -> None:
    """403 unless the caller ``can`` do ``action`` to ``obj``: the pages' own rule."""
    if not can(auth.user(), action, obj):
        abort(403, message=_("You may not do this."))


#: HTTP methods that change something: each such route must declare its :func:`guard`
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _path_objects() -> dict:
    """The model each path argument names (imported late: these are the features' tables)."""
    from consult.api.models import ApiToken
    from consult.auth.models import User
    from consult.communities.models import CommunityOrganisation
    from consult.open311.models import Open311Key
    from consult.problems.models import PriorityRound
    from consult.proposals.models import Proposal

    return {
        "co_id": CommunityOrganisation,
        "proposal_id": Proposal,
        "round_id": PriorityRound,
        "token_id": ApiToken,
        "key_id": Open311Key,
        "user_id": User,
    }


def guard(action: str, arg: str | None = None):
    """Declare what a route does: ``action`` on the object its path names (``arg``, by
    default the path's first argument). :func:`check_access` acts on it before the body is
    validated. Put it between ``route`` and ``arguments``."""

    def decorate(view):
        view.api_guard = (action, arg)
        return view

    return decorate


def check_access():
    """Before every request of the API's blueprints, after the token: load the object the
    path names (404) and ask ``can`` for the route's declared action (403), in the pages'
    order, so nobody learns from a 422 about a row they may not touch. Fail-closed: a
    writing route that declared no :func:`guard` is refused. The object stays in ``g`` (and
    so in the session): the view's own :func:`load` finds it without reading it again."""
    view = current_app.view_functions.get(request.endpoint)
    declared = getattr(view, "api_guard", None)
    if declared is None:
        if request.method in WRITES and request.endpoint not in auth.PUBLIC:
            abort(403, message=_("You may not do this."))
        return None
    action, arg = declared
    args = request.view_args or {}
    name = arg or next(iter(args))
    g.guarded = load(_path_objects()[name], args[name])
    require(action, g.guarded)
    return None


@contextmanager
def refusals():
    """A service's refusal becomes 409 (the workflow does not allow it now) or 422 (the
    input breaks a rule, on ``field`` when the service names one); nothing is kept."""
    try:
        yield
    except TransitionRefused as error:
        db.session.rollback()
        abort(409, message=str(error))
    except Refusal as error:
        db.session.rollback()
        field = getattr(error, "field", None)
        abort(
            422,
            message=str(error),
            messages={"json": {field: [str(error)]}} if field else {},
        )


# --- keyset pages ---------------------------------------------------------------------------


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _sep, value = raw.partition(":")
        last = int(value)
        if kind != "id" or not 0 < last <= MAX_ID:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        abort(400, message=_("This cursor is not valid."), messages={"query": {"cursor": ["?"]}})
    return last


def keyset_page(
    stmt: Select,
    id_column,
    args: dict,
    dump: Callable,
    visible: Callable | None = None,
) -> dict:
    """A page of ``stmt``'s rows, newest (highest id) first, after the cursor. Rows added
    meanwhile never shift a later page. ``visible`` drops rows the caller may not see."""
    limit = args["limit"]
    last = _decode(args.get("cursor"))
    items: list = []
    scanned = 0
    exhausted = False
    while len(items) <= limit and scanned < SCAN_LIMIT:
        query = stmt if last is None else stmt.where(id_column < last)
        batch = db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).all()
        for row in batch:
            last = row.id
            scanned += 1
            if visible is None or visible(row):
                items.append(row)
                if len(items) > limit:
                    break
        if len(batch) < limit + 1:
            exhausted = True
            break
    if len(items) > limit:
        items = items[:limit]
        next_cursor = _encode(items[-1].id)
    elif not exhausted and last is not None:
        next_cursor = _encode(last)  # scanned enough for one page; go on from here
    else:
        next_cursor = None
    return {"items": [dump(row) for row in items], "next_cursor": next_cursor}


# --- Idempotency-Key ------------------------------------------------------------------------


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not submissions.usable(key):
        abort(
            400,
            message=_(
                "Idempotency-Key must be 1 to %(n)d printable characters.", n=submissions.MAX_KEY
            ),
            messages={"headers": {"Idempotency-Key": ["invalid"]}},
        )
    return key


def create(kind: str, model, make: Callable, dump: Callable):
    """Run ``make()`` (which calls a service and returns the new row) once per
    ``Idempotency-Key``: a retry with the same key answers with what the first request made.

    The keys are the web forms' submission keys (``consult.submissions``): the key is claimed
    in the request's transaction before anything is made, so two requests with one key at
    the same moment make one record; a refused request rolls its claim back."""
    user = auth.user()
    key = _idempotency_key()
    earlier = submissions.claim(user, key, kind)
    if earlier is not None:
        return _replay(earlier, kind, model, dump)
    try:
        with refusals():
            obj = make()
            submissions.fulfil(user, key, obj.id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        abort(409, message=_("This conflicts with a record made at the same moment."))
    return dump(obj), 201


def _replay(earlier, kind: str, model, dump: Callable):
    db.session.rollback()  # nothing of this request is kept
    if earlier.kind != kind or earlier.object_id is None:
        abort(409, message=_("This Idempotency-Key was already used for another request."))
    obj = load(model, earlier.object_id)
    return dump(obj), 201, {"Idempotent-Replayed": "true"}


def blueprint(name: str, description: str) -> Blueprint:
    """A blueprint of the API: bearer tokens only, no CSRF."""
    blp = Blueprint(name, __name__, description=description)
    # Bearer tokens only, never the session cookie: a cross-site form cannot send the
    # header, so a CSRF token would protect nothing here.
    csrf.exempt(blp)
    blp.before_request(auth.load_bearer)
    blp.before_request(check_access)
    return blp
