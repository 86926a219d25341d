"""A CO's problems: the filtered list, recording one, its page, correcting, closing."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from consult.attachments import service as attachments
from consult.communities.models import CommunityOrganisation
from consult.communities.service import co_page_version
from consult.core.conditional import answer_if_unchanged, page_tag, tag_response, versioned
from consult.core.enums import ProblemCategory, ProblemStatus
from consult.core.forms import load, show_refusal
from consult.core.ids import id_arg
from consult.core.pages import bounded_count, keyset_page
from consult.core.permissions import can, require
from consult.core.templating import ActionForm
from consult.extensions import db
from consult.problems import bp, service
from consult.problems.forms import ProblemFilterForm, ProblemForm
from consult.problems.models import Problem
from consult.submissions import views as submissions

PER_PAGE = 20


@bp.route("/co/<int:co_id>/problems")
@login_required
@versioned("co", co_page_version, "co_id")
def index(co_id: int):
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    co = load(CommunityOrganisation, co_id, "view")
    filters = ProblemFilterForm(request.args)
    # An unknown value in the query string just means "no filter", never an error.
    chosen = {}
    if filters.validate():
        chosen = {k: v for k, v in filters.data.items() if v}
    query = select(Problem).where(Problem.co_id == co.id)
    if "status" in chosen:
        query = query.where(Problem.status == ProblemStatus(chosen["status"]))
    if "category" in chosen:
        query = query.where(Problem.category == ProblemCategory(chosen["category"]))
    page = keyset_page(
        query,
        [Problem.created_at, Problem.id],
        after=request.args.get("after"),
        before=request.args.get("before"),
        per_page=PER_PAGE,
    )
    return tag_response(
        render_template(
            "problems/index.html",
            co=co,
            page=page,
            total=bounded_count(query),
            filters=filters,
            args=chosen,
            photos=attachments.first_photos(Problem, page.items),
        )
    )


@bp.route("/co/<int:co_id>/problems/new", methods=["GET", "POST"])
@login_required
def new(co_id: int):
    co = load(CommunityOrganisation, co_id, "report_problem")
    form = ProblemForm(co)
    if not form.is_submitted():
        # "Record a problem raised here" from a meeting page; only this CO's meetings count.
        wanted = request.args.get("meeting_id", type=id_arg)
        if wanted and any(c.value == wanted for c in form.meeting_id.choices):
            form.meeting_id.data = wanted
    if form.validate_on_submit():
        again = submissions.repeated(
            form, "problem", lambda i: url_for("problems.show", problem_id=i)
        )
        if again is not None:
            return again
        try:
            problem = service.report_problem(
                co,
                by=current_user,
                meeting=form.meeting(),
                uploads=form.photos.uploads,
                **_details(form),
            )
        except service.ProblemError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            submissions.created(form, problem.id)
            db.session.commit()
            flash(_("The problem is recorded."), "success")
            return redirect(url_for("problems.show", problem_id=problem.id))
    return render_template("problems/form.html", co=co, form=form, problem=None)


@bp.route("/problems/<int:problem_id>")
@login_required
def show(problem_id: int):
    problem = load(Problem, problem_id, "view")
    proposals = [
        p
        for p in service.proposals_answering(problem)
        if can(current_user, "view", p)  # officers: only what was submitted
    ]
    return render_template(
        "problems/show.html",
        problem=problem,
        co=problem.organisation,
        photos=attachments.attachments_of(problem),
        proposals=proposals,
    )


@bp.route("/problems/<int:problem_id>/edit", methods=["GET", "POST"])
@login_required
def edit(problem_id: int):
    problem = load(Problem, problem_id, "edit")
    co = problem.organisation
    form = ProblemForm(co, obj=problem)
    if not form.is_submitted():
        form.category.data = problem.category.value
        form.meeting_id.data = problem.meeting_id or 0
    if form.validate_on_submit():
        try:
            service.edit_problem(
                problem,
                by=current_user,
                meeting=form.meeting(),
                uploads=form.photos.uploads,
                **_details(form),
            )
        except service.ProblemError as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The problem is saved."), "success")
            return redirect(url_for("problems.show", problem_id=problem.id))
    return render_template(
        "problems/form.html",
        co=co,
        form=form,
        problem=problem,
        photos=attachments.attachments_of(problem),
    )


@bp.route("/problems/<int:problem_id>/close", methods=["POST"])
@login_required
def close(problem_id: int):
    return _change_status(problem_id, service.close_problem, _("The problem is closed."))


@bp.route("/problems/<int:problem_id>/reopen", methods=["POST"])
@login_required
def reopen(problem_id: int):
    return _change_status(problem_id, service.reopen_problem, _("The problem is open again."))


def _change_status(problem_id: int, change, done: str):
    problem = db.get_or_404(Problem, problem_id)
    # Who may at all; whether the problem's status allows it now is the service's call, which
    # answers a double click with a message rather than a 403.
    require(current_user, "change_status", problem)
    if ActionForm().validate_on_submit():
        try:
            change(problem, by=current_user)
        except service.ProblemError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(done, "success")
    else:
        flash(_("The form had expired. Please try again."), "error")
    return redirect(url_for("problems.show", problem_id=problem.id))


def _details(form: ProblemForm) -> dict:
    return {
        "title": form.title.data,
        "category": form.category.data,
        "description": form.description.data,
        "location": form.location.data,
        "latitude": form.latitude.data,
        "longitude": form.longitude.data,
        "households_affected": form.households_affected.data,
    }
