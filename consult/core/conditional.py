"""Conditional GET: a page that has not changed since the reader's copy is answered 304.

Three ways. :func:`by_content` tags a rendered page by what it says (its CSRF tokens and
one-time form keys left out, since they are made anew on every render): always right, and a repeat
view on a slow phone transfers nothing, but the server still builds the page. Where a cheap
tag exists (the dashboard's snapshot time), a view computes it from what the page shows,
asks :func:`unchanged` before it does the expensive work, and marks its response with
:func:`tagged`. The tag also covers who reads (pages differ by person), the language, the
number of their unread notifications (shown in the menu), the deployed templates, and a
half-hour window: a page carries CSRF tokens and "waiting N days", so an old copy is
rendered anew after a while even when nothing changed.

The third, :func:`page_tag`, is for pages whose data changes: ONE statement reads a version
of everything the page shows (the page gives its columns, e.g. its CO's latest audit events,
``consult.audit.service.events_in``; every feature that draws something about the reader on
every page adds its own through :data:`reader_columns`), before anything is loaded or
rendered. It is only right while every
change a page shows writes what its version reads: in a CO, an audit event with the CO's id
(the services do); for the reader, their notifications and read receipts; and what changes
by itself (a vote closes, a meeting starts) is read as the next such moment. The tag is
keyed with the app's secret, so a tag the server never gave cannot be made up to skip a
permission check: it matches only when the same reader, with the same role, memberships and
data, was shown the page already.
"""

import functools
import hashlib
import hmac
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from flask import Response, current_app, g, has_request_context, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Integer, Select, bindparam, select

from consult.core.db import UTCDateTime, utcnow
from consult.extensions import db

#: seconds an ETag stays valid when nothing changes
WINDOW_SECONDS = 1800

#: what else every page shows about its reader (features add theirs, e.g. the unread
#: notifications in the menu): each is called once per tag
reader_parts: list[Callable[[], object]] = []


#: the reader's id and the time of the request, in the SQL of a page's version
READER = bindparam("reader_id", type_=Integer)
NOW = bindparam("now", type_=UTCDateTime)

#: SQL for what every page shows about its reader (the menu's counts, their unread threads…),
#: added by the features that draw it: each is called with the COs the page is about (a
#: SELECT of their ids, in terms of the page's parameters) and returns scalar SQL expressions
#: (subqueries) in terms of :data:`READER` and :data:`NOW`, read with the page's own
reader_columns: list[Callable[[object], list]] = []

#: values of the bound parameters the reader columns add beside READER and NOW: each is
#: called with the time of the request and returns a dict
reader_values: list[Callable[[datetime], dict]] = []

#: each page's version columns, built once per process (building and hashing the SQL
#: expression costs more than running it), with where each reader column's values sit in them
_statements: dict[str, tuple[list, list[tuple[Callable, int, int]]]] = {}
#: the version statement of each page alone, and with the reader's account (by page name;
#: None: the account alone)
_pages: dict[str, Select] = {}
_accounts: dict[str | None, Select] = {}


@functools.cache
def _code_version(template_folder: str) -> str:
    """The deployed templates, by name, size and time (the same in every worker)."""
    digest = hashlib.sha256()
    for path in sorted(Path(template_folder).rglob("*.html")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def etag(*parts) -> str:
    """The tag of a page made from ``parts`` for the current reader. What every page shows
    about the reader is the version read with their account when the view is
    :func:`versioned` (no statement of its own), else :data:`reader_parts`."""
    reader = current_user.get_id() if current_user.is_authenticated else None
    prefetched = _prefetched(current_user.id) if current_user.is_authenticated else None
    raw = repr(
        (
            parts,
            reader,
            str(get_locale()),
            prefetched[0] if prefetched else [part() for part in reader_parts],
            int(time.time() // WINDOW_SECONDS),
            _code_version(current_app.template_folder),
        )
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def reader_only() -> tuple[list, None]:
    """A :func:`versioned` page's build when the page has a version of its own elsewhere (a
    snapshot's time) and needs only what every page shows about its reader."""
    return [], None


def versioned(name: str, build: Callable[[], tuple[list, object]], *args: str) -> Callable:
    """Mark a page that only reads and has a version (a view decorator, under
    ``login_required``). ``build()`` returns the page's columns (scalar SQL: how many audit
    events its CO has…) and the SELECT of the ids of the COs it is about, in terms of bound
    parameters named like the view's arguments ``args`` (it is called once per process for
    each ``name``; every :data:`reader_columns` is added).

    Its GET runs without a transaction, each statement on its own as READ COMMITTED sees it
    anyway (no BEGIN and ROLLBACK round trips), and the version is read in the statement that
    loads the reader's account (:func:`load_reader`): a repeat view is one statement."""

    def mark(view: Callable) -> Callable:
        view.page_version = (name, build, args)
        return view

    return mark


def _spec():
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "page_version", None)


def _read_only_request() -> None:
    if _spec() is not None:
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def init_app(app) -> None:
    """Before anything reads the database (the reader's account is loaded in a later hook)."""
    app.before_request(_read_only_request)


def _version_statement(name: str, build: Callable) -> tuple[list, list]:
    if name not in _statements:
        columns, cos = build()
        every, slices = list(columns), []
        for add in reader_columns:
            more = add(cos)
            slices.append((add, len(every), len(every) + len(more)))
            every.extend(more)
        _statements[name] = (every, slices)
    return _statements[name]


def _version_values(reader_id: int, args: tuple) -> dict:
    now = utcnow()
    values = {"reader_id": reader_id, "now": now}
    values.update({arg: (request.view_args or {}).get(arg) for arg in args})
    for more in reader_values:
        values.update(more(now))
    return values


def load_reader(base: Callable[[], Select], reader_id: int):
    """The reader's account, read by ``base()`` (a SELECT of it by :data:`READER`, built once
    per process) — and, for the GET of a :func:`versioned` page, the page's version in the same
    statement, kept for :func:`page_tag`. None when there is no such account."""
    spec = _spec()
    key = spec[0] if spec else None
    if key not in _accounts:
        statement = base()
        if spec is not None:
            statement = statement.add_columns(*_version_statement(spec[0], spec[1])[0])
        _accounts[key] = statement
    if spec is None:
        return db.session.scalars(_accounts[key], {"reader_id": reader_id}).unique().first()
    values = _version_values(reader_id, spec[2])
    row = db.session.execute(_accounts[key], values).unique().first()
    if row is None:
        return None
    g.prefetched_version = (reader_id, tuple(row[1:]), values["now"])
    return row[0]


def _prefetched(reader_id: int) -> tuple[tuple, datetime] | None:
    """The version :func:`load_reader` read with ``reader_id``'s account, and its clock;
    None when it read none (or for another account)."""
    prefetched = g.get("prefetched_version")
    if prefetched is None or prefetched[0] != reader_id:
        return None
    return prefetched[1], prefetched[2]


def page_tag() -> str | None:
    """The tag of the current (:func:`versioned`) page for the current reader, from its
    version (read with the reader's account, else now, in one statement). None while a flash
    message waits (the page shows it once: such a page is never tagged, nor answered 304).

    The tag also covers the reader's session (account, session token, CSRF key), role,
    language and municipality, the URL with its query, the deployed templates and a
    half-hour window (a page shows "waiting N days"); it is an HMAC under the app's secret."""
    if session.get("_flashes"):
        return None
    # the page's forms carry tokens made from the session's CSRF key: made now when the
    # session has none yet (the page would make it), so the first view's tag is the next one's
    csrf_key = session.get("csrf_token") or (generate_csrf() and session.get("csrf_token"))
    user = current_user
    name, build, args = _spec()
    columns, slices = _version_statement(name, build)
    prefetched = _prefetched(user.id)
    if prefetched is not None:
        row, now = prefetched
    else:
        statement = _pages.get(name)
        if statement is None:
            statement = _pages[name] = select(*columns)
        values = _version_values(user.id, args)
        row, now = tuple(db.session.execute(statement, values).one()), values["now"]
    g.reader_versions = {add: row[start:end] for add, start, end in slices}
    raw = repr(
        (
            row,
            user.get_id(),
            user.role,
            user.municipality_id,
            csrf_key,
            str(get_locale()),
            request.full_path,
            # the window on the clock the version read: the next moments it looks for lie
            # within a horizon at least this long (``consult.agenda.service.HORIZON``)
            int(now.timestamp() // WINDOW_SECONDS),
            _code_version(current_app.template_folder),
        )
    )
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()[:32]


def reader_version(columns: Callable) -> tuple | None:
    """The values the reader columns ``columns`` read for this request's page tag (None when
    the page has none): a feature may key a cache of what it draws about the reader by them."""
    versions = g.get("reader_versions")
    return None if versions is None else versions.get(columns)


def answer_if_unchanged(tag: str | None) -> Response | None:
    """The 304 when the reader already has the page tagged ``tag``; else None (and the tag is
    kept for :func:`tag_response`)."""
    g.page_tag = tag
    return None if tag is None else unchanged(tag)


def tag_response(body) -> Response:
    """The rendered page ``body`` as a response carrying the tag of :func:`answer_if_unchanged`
    (untagged when there was none: a flash message was shown)."""
    tag = g.get("page_tag")
    if tag is None:
        return make_response(body)
    return tagged(body, tag)


def unchanged(tag: str, last_modified: datetime | None = None) -> Response | None:
    """A 304 response when the reader already has the page tagged ``tag``; else None.
    Never while a flash message waits to be shown (the page would lose it)."""
    if session.get("_flashes") or not request.if_none_match.contains(tag):
        return None
    response = current_app.response_class(status=304)
    _mark(response, tag, last_modified)
    return response


def tagged(body, tag: str, last_modified: datetime | None = None) -> Response:
    """The rendered page ``body`` as a response carrying ``tag``."""
    response = make_response(body)
    _mark(response, tag, last_modified)
    return response


def _mark(response: Response, tag: str, last_modified: datetime | None) -> None:
    response.set_etag(tag)
    if last_modified is not None:
        response.last_modified = last_modified
    # private: it differs by reader; no-cache: ask each time (a cheap 304 when unchanged)
    response.cache_control.private = True
    response.cache_control.no_cache = True


#: hidden values made afresh at every render (the CSRF token; a form's submission key, which
#: only a submission uses up, and a submission changes the page), left out of the page's tag
_TOKEN = re.compile(rb'(name="(?:csrf_token|submission_key)" type="hidden" value=")[^"]*(")')


def by_content(response: Response) -> Response:
    """Tag a rendered page by its content and answer 304 when the reader's copy is the same.
    Not while a flash message is shown (it is shown once) or for anything but a 200."""
    if request.method != "GET" or response.status_code != 200 or session.get("_flashes"):
        return response
    body = _TOKEN.sub(rb"\1\2", response.get_data())
    _mark(response, hashlib.sha256(body).hexdigest()[:32], None)
    return response.make_conditional(request)
