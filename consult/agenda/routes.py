"""The top bar's “Needs you” count, on every page."""

from flask_login import current_user

from consult.agenda import bp, service


@bp.app_context_processor
def _needs_you():
    def needs_you():
        """(count, CO to open) of what waits for the reader; (0, None) when nothing does."""
        if not current_user.is_authenticated:
            return 0, None
        return service.waiting(current_user)

    return {"needs_you": needs_you}
