"""Bounded lists: keyset pagination and counts that stop counting.

A page of a long list is read from where the previous one ended (``WHERE (sort, id) <
(last sort, last id) ORDER BY sort DESC, id DESC LIMIT n``), so with an index on the sort
columns every page costs the same, the thousandth as the first; ``OFFSET`` would read and
throw away every row before it. The position travels in the link as an opaque cursor.

Counts shown beside a list stop at a cap (``1,000+``): counting stops there instead of
reading the whole list.
"""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, literal_column, or_, select, union_all

from consult.extensions import db

#: counts beyond this are shown as "1,000+"
COUNT_CAP = 1000


@dataclass(frozen=True)
class Count:
    """A count that may have stopped at its cap."""

    value: int
    capped: bool

    def __int__(self) -> int:
        return self.value

    def __bool__(self) -> bool:
        return self.value > 0


def bounded_count(query: Select, cap: int = COUNT_CAP) -> Count:
    """How many rows ``query`` returns, reading at most ``cap + 1`` of them."""
    return as_count(db.session.scalar(select(bounded_count_sql(query, cap))), cap)


def bounded_count_sql(query: Select, cap: int = COUNT_CAP):
    """SQL (a scalar subquery) counting the rows of ``query`` up to ``cap + 1``, to read with
    other figures in one statement; :func:`as_count` turns its value into a :class:`Count`."""
    inner = query.with_only_columns(literal_column("1")).order_by(None).limit(cap + 1)
    return select(func.count()).select_from(inner.subquery()).scalar_subquery()


def rows_of(model, *id_queries: Select) -> Select:
    """A SELECT of ``model``'s rows whose ids any of ``id_queries`` gives (each a SELECT of
    ids, typically ordered and limited: the next few and the last few), in one statement
    instead of one per query."""
    ids = union_all(*(query.subquery().select() for query in id_queries)).subquery()
    return select(model).where(model.id.in_(select(ids.c[0])))


def as_count(n: int | None, cap: int = COUNT_CAP) -> Count:
    n = n or 0
    return Count(min(n, cap), n > cap)


@dataclass(frozen=True)
class KeysetPage:
    """One page of a keyset-paginated list: its rows and the cursors of its neighbours."""

    items: list
    next_cursor: str | None  # the rows after the last one shown (older, in a newest-first list)
    prev_cursor: str | None  # the rows before the first one shown
    first: bool  # this is the first page (no cursor was given)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def _encode(values: list) -> str:
    out = [{"d": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(out, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _python_type(column) -> type:
    kind = getattr(column.type, "impl", column.type)  # a TypeDecorator's stored type
    try:
        return kind.python_type
    except NotImplementedError:
        return object


def _decode(cursor: str, columns: list) -> list | None:
    """The values in ``cursor``, or None for anything that is not a cursor this module made
    for these columns (an old or typed link is read as "the first page", never an error)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            return None
        out = []
        for v, column in zip(values, columns, strict=True):
            if isinstance(v, dict):
                v = datetime.fromisoformat(v["d"])
                if v.tzinfo is None:
                    return None
            expected = _python_type(column)
            if isinstance(v, bool) or not isinstance(v, expected):
                return None
            out.append(v)
        return out
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _after(columns: list, values: list, descending: bool):
    """SQL: the row comes after ``values`` in the order of ``columns`` (all one direction).

    Written as nested OR/AND rather than a row-value comparison so that every database plans
    it on the index (and SQLite older than 3.15 still runs it)."""
    col, rest = columns[0], columns[1:]
    v, rest_values = values[0], values[1:]
    beyond = col < v if descending else col > v
    if not rest:
        return beyond
    return or_(beyond, and_(col == v, _after(rest, rest_values, descending)))


def keyset_page(
    query: Select,
    columns: list,
    *,
    after: str | None = None,
    before: str | None = None,
    per_page: int = 20,
    descending: bool = True,
    key: Callable[[Any], list] | None = None,
) -> KeysetPage:
    """A page of ``query`` (which must select one entity) ordered by ``columns`` — the last
    one unique, typically the id — all descending (or all ascending), starting after the
    ``after`` cursor or ending before the ``before`` one.

    A row's position is read from its attributes named like the columns, or by ``key`` when
    a column is an expression."""
    if key is None:
        names = [c.key for c in columns]

        def key(row):
            return [getattr(row, n) for n in names]

    start = _decode(after, columns) if after else None
    end = _decode(before, columns) if before and start is None else None
    order = [c.desc() if descending else c.asc() for c in columns]
    reverse = [c.asc() if descending else c.desc() for c in columns]
    if start is not None:
        query = query.where(_after(columns, start, descending)).order_by(*order)
    elif end is not None:
        query = query.where(_after(columns, end, not descending)).order_by(*reverse)
    else:
        query = query.order_by(*order)
    rows = list(db.session.scalars(query.limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if end is not None:
        rows.reverse()

    def cursor(row: Any) -> str:
        return _encode(key(row))

    if not rows:
        return KeysetPage([], None, None, first=start is None and end is None)
    if end is not None:
        has_next, has_prev = True, more
    else:
        has_next, has_prev = more, start is not None
    return KeysetPage(
        items=rows,
        next_cursor=cursor(rows[-1]) if has_next else None,
        prev_cursor=cursor(rows[0]) if has_prev else None,
        first=start is None and end is None,
    )
