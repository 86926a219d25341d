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


@bp.app_context_processor
def _needs_you():
    def needs_you():
        """(count, CO to open) of what waits for the reader; (0, None) when nothing does."""
        if not current_user.is_authenticated:
            return 0, None
        return service.waiting(current_user, needs_in=needs_in)

    return {"needs_you": needs_you}


conditional.reader_columns.append(service.version_columns)
