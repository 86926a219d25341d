"""Pages of a list: any ``?page=`` gives a page, never a 500 (past the end: the last page)."""

from flask import request

from consult.extensions import db

#: beyond any real list; keeps OFFSET far from the database's integer limits
_MAX_PAGE = 10**6


def requested_page() -> int:
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        return 1
    return min(max(page, 1), _MAX_PAGE)


def paginate(query, *, per_page: int):
    """``db.paginate`` on the requested page, clamped to 1 … the last page."""
    page = requested_page()
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    if page > 1 and page > result.pages:
        result = db.paginate(query, page=max(result.pages, 1), per_page=per_page, error_out=False)
    return result
