"""The works page of an agreed proposal: start, progress updates, comments, completion."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from consult.core.fields import set_currency
from consult.core.forms import load, show_refusal
from consult.core.permissions import can
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.implementation import bp, service
from consult.implementation.forms import CommentForm, CompleteForm, StartForm, UpdateForm
from consult.proposals.models import Proposal
from consult.submissions import views as submissions


@bp.route("/proposals/<int:proposal_id>/implementation")
@login_required
def show(proposal_id: int):
    p = load(Proposal, proposal_id, "view_implementation")
    return _show(p)


def _show(p: Proposal, update_form: UpdateForm | None = None, comment_form=None):
    """The works page; a form that failed is passed in to show its errors and values."""
    updates = service.updates_of(p)
    if update_form is None and can(current_user, "record_progress", p):
        update_form = UpdateForm(prefix="update", formdata=None)
        set_currency(update_form, p.currency)
        update_form.progress.data = p.progress_percent
    if comment_form is None and can(current_user, "comment_progress", p):
        comment_form = CommentForm(prefix="comment", formdata=None)
    return render_template(
        "implementation/show.html",
        p=p,
        co=p.organisation,
        updates=updates,
        photos=service.photos_by_update(updates),
        spent=service.reported_spending(updates),
        update_form=update_form,
        comment_form=comment_form,
    )


@bp.route("/proposals/<int:proposal_id>/implementation/updates", methods=["POST"])
@login_required
def post_update(proposal_id: int):
    p = load(Proposal, proposal_id, "record_progress")
    form = UpdateForm(prefix="update")
    set_currency(form, p.currency)
    if form.validate_on_submit():
        again = submissions.repeated(
            form, "update", lambda _i: url_for("implementation.show", proposal_id=p.id)
        )
        if again is not None:
            return again
        try:
            update = service.post_update(
                p,
                current_user,
                progress=form.progress.data,
                note=form.note.data,
                spent=form.spent.data,
                uploads=form.files.uploads,
            )
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            submissions.created(form, update.id)
            db.session.commit()
            flash(_("The update is posted."), "success")
            return redirect(url_for("implementation.show", proposal_id=p.id))
    return _show(p, update_form=form)


@bp.route("/proposals/<int:proposal_id>/implementation/comments", methods=["POST"])
@login_required
def comment(proposal_id: int):
    p = load(Proposal, proposal_id, "comment_progress")
    form = CommentForm(prefix="comment")
    if form.validate_on_submit():
        again = submissions.repeated(
            form, "comment", lambda _i: url_for("implementation.show", proposal_id=p.id)
        )
        if again is not None:
            return again
        try:
            note = service.comment(p, current_user, form.note.data, uploads=form.files.uploads)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            submissions.created(form, note.id)
            db.session.commit()
            flash(_("Your comment is posted."), "success")
            return redirect(url_for("implementation.show", proposal_id=p.id))
    return _show(p, comment_form=form)


@bp.route("/proposals/<int:proposal_id>/implementation/start", methods=["GET", "POST"])
@login_required
def start(proposal_id: int):
    p = load(Proposal, proposal_id, "start")
    form = StartForm()
    if not form.is_submitted():
        form.started_on.data = service.local_today(p)
    if form.validate_on_submit():
        try:
            service.start_works(p, current_user, form.started_on.data)
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("Works are recorded as started."), "success")
            return redirect(url_for("implementation.show", proposal_id=p.id))
    return render_template("implementation/start.html", p=p, form=form)


@bp.route("/proposals/<int:proposal_id>/implementation/complete", methods=["GET", "POST"])
@login_required
def complete(proposal_id: int):
    p = load(Proposal, proposal_id, "complete")
    form = CompleteForm()
    set_currency(form, p.currency)
    if not form.is_submitted():
        form.completed_on.data = service.local_today(p)
        form.households_benefited.data = p.households_benefiting
    if form.validate_on_submit():
        try:
            service.complete_works(
                p,
                current_user,
                completed_on=form.completed_on.data,
                actual_cost=form.actual_cost.data,
                households_benefited=form.households_benefited.data,
            )
        except Refusal as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The works are recorded as completed."), "success")
            return redirect(url_for("implementation.show", proposal_id=p.id))
    return render_template("implementation/complete.html", p=p, form=form)
