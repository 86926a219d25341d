"""Ids from URLs and query strings: whatever is typed, a number the database can hold or a 404.

PostgreSQL's ``integer`` stops at 2**31 - 1 ("integer out of range" past it) and SQLite's at
2**63 - 1 (an OverflowError in the driver); both would otherwise be a 500.
"""

from werkzeug.routing import IntegerConverter

#: the largest id any of our tables can hold (PostgreSQL ``integer``)
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: 0 … MAX_ID, anything else does not match (404)."""

    def __init__(self, map, *args, **kwargs):  # noqa: A002 - werkzeug's name
        super().__init__(map, *args, **kwargs)
        if self.max is None:
            self.max = MAX_ID


def id_arg(value: str) -> int:
    """A query-string id (``request.args.get("co_id", type=id_arg)``): ValueError, so the
    default, when it is not an id a table can hold."""
    number = int(value)
    if not 1 <= number <= MAX_ID:
        raise ValueError(value)
    return number


def id_choice(value) -> int:
    """``coerce`` for a select of ids whose choice is checked against the database: 0 (none) or
    an id a table can hold, else the field's "could not coerce" error."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError(value)
    return number


def init_app(app) -> None:
    """Before any blueprint adds its rules."""
    app.url_map.converters["int"] = IdConverter
