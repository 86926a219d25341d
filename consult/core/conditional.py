"""Conditional GET: a page that has not changed since the reader's copy is answered 304.

A page that only reads is marked :func:`versioned`. ONE statement reads a version of everything
it shows (the page gives its columns, e.g. its CO's latest audit events,
``consult.audit.service.events_in``; every feature that draws something about the reader on
every page adds its own through :data:`reader_columns`) with the reader's account, before
anything else is loaded or rendered. A page with a version of its own elsewhere (the dashboard's
snapshot time) adds it to its tag as ``parts``. It is only right while every change a page shows
writes what its version reads: in a CO, an audit event with the CO's id (the services do); for
the reader, their notifications and read receipts; and what changes by itself (a vote closes, a
meeting starts) is read as the next such moment.

The tag (:func:`page_tag`) also covers the reader's account, session and language, the URL, the
deployed templates and a half-hour window (a page shows "waiting N days"). It is keyed with the
app's secret, so a tag the server never gave cannot be made up to skip a permission check: it
matches only when the same reader, with the same role, memberships and data, was shown the page
already. That is why a repeat view is answered before the page's policy is asked, and before
the account object is loaded (:func:`repeat_view`, once ``consult.auth.sessions`` has found the
session live by Flask-Login's and its own rules).
"""

import functools
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from flask import Response, current_app, g, has_request_context, make_response, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Integer, Select, bindparam, select

from consult.core.db import UTCDateTime, utcnow
from consult.core.formatting import page_language
from consult.extensions import db

#: seconds an ETag stays valid when nothing changes
WINDOW_SECONDS = 1800

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
#: the version statement of each page with the columns of the reader's account a tag covers
_repeats: dict[str, tuple[Select, int]] = {}


@functools.cache
def _code_version(template_folder: str) -> str:
    """The deployed templates, by name, size and time (the same in every worker)."""
    digest = hashlib.sha256()
    for path in sorted(Path(template_folder).rglob("*.html")):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def reader_only() -> tuple[list, None]:
    """A :func:`versioned` page's build when the page has a version of its own elsewhere (a
    snapshot's time) and needs only what every page shows about its reader."""
    return [], None


class PageVersion(NamedTuple):
    name: str
    build: Callable[[], tuple[list, object]]
    args: tuple[str, ...]
    parts: Callable[[str], tuple | None] | None


def versioned(
    name: str,
    build: Callable[[], tuple[list, object]],
    *args: str,
    parts: Callable[[str], tuple | None] | None = None,
) -> Callable:
    """Mark a page that only reads and has a version (a view decorator, under
    ``login_required``). ``build()`` returns the page's columns (scalar SQL: how many audit
    events its CO has…) and the SELECT of the ids of the COs it is about, in terms of bound
    parameters named like the view's arguments ``args`` (it is called once per process for
    each ``name``; every :data:`reader_columns` is added). A page with a version of its own
    elsewhere (a snapshot's time) gives ``parts(language)``: what else its tag covers, found
    without the account object, for a page in ``language`` (None: not known yet); its view
    passes the same to :func:`page_tag`.

    Its GET runs without a transaction, each statement on its own as READ COMMITTED sees it
    anyway (no BEGIN and ROLLBACK round trips), and the version is read in the statement that
    loads the reader's account (:func:`load_reader`); a repeat view is that one statement,
    and is answered before the account is loaded (:func:`repeat_view`)."""

    def mark(view: Callable) -> Callable:
        view.page_version = PageVersion(name, build, args, parts)
        return view

    return mark


def _spec() -> PageVersion | None:
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "page_version", None)


def _read_only_request() -> None:
    # (a test's requests share its app context, and g with it)
    g.pop("prefetched_version", None)
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
    statement, kept for :func:`page_tag` (unless :func:`repeat_view` read it already). None
    when there is no such account."""
    spec = _spec()
    if _prefetched(reader_id) is not None:  # read already, by repeat_view
        spec = None
    key = spec.name if spec else None
    if key not in _accounts:
        statement = base()
        if spec is not None:
            statement = statement.add_columns(*_version_statement(spec.name, spec.build)[0])
        _accounts[key] = statement
    if spec is None:
        return db.session.scalars(_accounts[key], {"reader_id": reader_id}).unique().first()
    values = _version_values(reader_id, spec.args)
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


def page_tag(parts: tuple = ()) -> str | None:
    """The tag of the current (:func:`versioned`) page for the current reader, from its
    version (read with the reader's account, else now, in one statement) and the ``parts``
    its ``versioned(parts=…)`` finds. None while a flash message waits (the page shows it
    once: such a page is never tagged, nor answered 304).

    The tag also covers the reader's session (account, session token, CSRF key), role,
    language and municipality, the URL with its query, the deployed templates and a
    half-hour window (a page shows "waiting N days"); it is an HMAC under the app's secret."""
    if session.get("_flashes"):
        return None
    # the page's forms carry tokens made from the session's CSRF key: made now when the
    # session has none yet (the page would make it), so the first view's tag is the next one's
    if not session.get("csrf_token"):
        generate_csrf()
    user = current_user
    name, build, args, _parts = _spec()
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
    return _tag(row, _account_of(user), now, parts)


#: what a page's tag covers of its reader's account, by attribute (an account or a row of it)
ACCOUNT_TAGGED = ("id", "session_token", "role", "municipality_id", "language")


def _account_of(account) -> tuple:
    return tuple(getattr(account, name) for name in ACCOUNT_TAGGED)


def _tag(version: tuple, account: tuple, now: datetime, parts: tuple) -> str:
    """The HMAC of a page's ``version`` and ``parts`` for the reader whose account reads
    ``account`` (:data:`ACCOUNT_TAGGED`), in this session, at ``now``; the language is
    covered by what chooses it (the account's, the session's, the browser's)."""
    raw = repr(
        (
            version,
            parts,
            account,
            session.get("csrf_token"),
            session.get("lang"),
            request.headers.get("Accept-Language"),
            request.full_path,
            # the window on the clock the version read: the next moments it looks for lie
            # within a horizon at least this long (``consult.agenda.service.HORIZON``)
            int(now.timestamp() // WINDOW_SECONDS),
            _code_version(current_app.template_folder),
        )
    )
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()[:32]


def may_repeat() -> bool:
    """Whether this request may be a repeat view :func:`repeat_view` answers: the GET of a
    :func:`versioned` page with an ETag, no flash message waiting, a CSRF key in the session."""
    return bool(
        request.if_none_match
        and _spec() is not None
        and session.get("csrf_token")
        and not session.get("_flashes")
    )


def repeat_view(
    base: Callable[[], Select], reader_id: int, holds: Callable[[object], bool]
) -> Response | None:
    """The 304 for a repeat view of the current :func:`versioned` page, decided before the
    reader's account is loaded: ONE statement reads the account's columns a tag covers with
    the page's version (``base()``: a SELECT of :data:`ACCOUNT_TAGGED` and what ``holds``
    reads, by :data:`READER`; built once per process). ``holds(row)`` says whether the
    session still holds the account (its token; not disabled). The caller has found the
    session live (``consult.auth.sessions``). None when the reader's copy is not current:
    the version is kept, and the page loads the account alone."""
    name, build, args, find_parts = _spec()
    if name not in _repeats:
        account = base()
        columns = _version_statement(name, build)[0]
        _repeats[name] = (account.add_columns(*columns), len(account.selected_columns))
    statement, width = _repeats[name]
    values = _version_values(reader_id, args)
    row = db.session.execute(statement, values).first()
    if row is None or not holds(row):
        return None
    version = tuple(row[width:])
    g.prefetched_version = (reader_id, version, values["now"])
    parts = find_parts(page_language(row.language)) if find_parts else ()
    if parts is None:
        return None
    return unchanged(_tag(version, _account_of(row), values["now"], parts))


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
    Never while a flash message waits to be shown (the page would lose it), nor for
    ``If-None-Match: *`` ("any copy at all" is not a copy this reader was given)."""
    wanted = request.if_none_match
    if session.get("_flashes") or wanted.star_tag or not wanted.contains(tag):
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
