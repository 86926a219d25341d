"""Small pieces every feature's views share: load-or-404 with the policy, and a service's
refusal placed on its field.

A view then reads in one order::

    p = load(Proposal, proposal_id, "record_progress")    # 404, then 403
    form = UpdateForm()
    if form.validate_on_submit():
        with refusals_on(form) as attempt:                  # a Refusal: rollback, shown
            service.post_update(p, current_user, ...)
        if attempt.ok:
            db.session.commit()
            flash(...)
            return redirect(...)
    return render_template(..., form=form)
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask_login import current_user

from consult.core.permissions import require
from consult.core.refusal import Refusal
from consult.extensions import db


def load(model, ident, action: str | None = None):
    """The ``model`` row with primary key ``ident`` (404 when there is none), after checking
    that the current user may do ``action`` to it (403 when not)."""
    obj = db.get_or_404(model, ident)
    if action is not None:
        require(current_user, action, obj)
    return obj


def show_refusal(form, error: Exception, default: str | None = None) -> None:
    """Put a service's refusal next to the field it names (``error.field``), else next to
    ``default``, else at the top of the form. What the user typed stays in the form."""
    name = getattr(error, "field", None)
    if not (name and name in form):
        name = default
    if name and name in form:
        form[name].errors = [*form[name].errors, str(error)]
    else:
        form.form_errors.append(str(error))


@dataclass
class Attempt:
    """What became of a service call run under :func:`refusals_on`."""

    refused: Refusal | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None


@contextmanager
def refusals_on(form, default: str | None = None) -> Iterator[Attempt]:
    """Run the block; should a service refuse (:class:`Refusal`), roll the session back and
    show the reason on ``form`` (:func:`show_refusal`) instead of raising."""
    attempt = Attempt()
    try:
        yield attempt
    except Refusal as error:
        db.session.rollback()
        show_refusal(form, error, default)
        attempt.refused = error
