"""The top bar's “Needs you” count, on every page."""

from flask import g
from flask_login import current_user

from consult.agenda import bp, service
from consult.communities.models import CommunityOrganisation
from consult.core import conditional


def needs_in(co: CommunityOrganisation) -> service.Needs:
    """What the reader is asked to do in ``co``, worked out once a request (the CO's home
    shows the list, the top bar counts it)."""
    memo = g.setdefault("agenda_needs", {})
    if co.id not in memo:
        memo[co.id] = service.needs(current_user, co)
    return memo[co.id]


#: the top bar's (count, CO id) by reader and the version of what it depends on (see
#: ``service.version_columns``): a repeat of the same page or a walk through pages does not
#: work it out again until something changes in the reader's COs (per process, bounded)
_waiting: dict[tuple, tuple[int, int | None]] = {}
WAITING_KEPT = 10_000


def waiting() -> tuple[int, int | None]:
    """(count, id of the CO to open) of what waits for the reader; (0, None) when nothing."""
    if not current_user.is_authenticated:
        return 0, None
    version = conditional.reader_version(service.version_columns)
    key = (current_user.id, current_user.role, version)
    if version is not None and key in _waiting:
        return _waiting[key]
    count, co = service.waiting(current_user, needs_in=needs_in)
    answer = (count, co.id if co is not None else None)
    if version is not None:
        if len(_waiting) >= WAITING_KEPT:
            _waiting.clear()
        _waiting[key] = answer
    return answer


@bp.app_context_processor
def _needs_you():
    return {"needs_you": waiting}


conditional.reader_columns.append(service.version_columns)
conditional.reader_values.append(service.version_values)
