"""A CO's meetings: the list, logging one, its page, correcting it."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from consult.attachments import service as attachments
from consult.communities.models import CommunityOrganisation
from consult.core import localtime
from consult.core.forms import load, show_refusal
from consult.core.pages import bounded_count, keyset_page
from consult.extensions import db
from consult.meetings import bp, service
from consult.meetings.forms import MeetingForm
from consult.meetings.models import Meeting
from consult.submissions import views as submissions

PER_PAGE = 20


@bp.route("/co/<int:co_id>/meetings")
@login_required
def index(co_id: int):
    co = load(CommunityOrganisation, co_id, "view_meetings")
    query = select(Meeting).where(Meeting.co_id == co.id)
    page = keyset_page(
        query,
        [Meeting.held_at, Meeting.id],
        after=request.args.get("after"),
        before=request.args.get("before"),
        per_page=PER_PAGE,
    )
    return render_template("meetings/index.html", co=co, page=page, total=bounded_count(query))


@bp.route("/co/<int:co_id>/meetings/new", methods=["GET", "POST"])
@login_required
def new(co_id: int):
    co = load(CommunityOrganisation, co_id, "log_meeting")
    form = MeetingForm(service.tickable_members(co))
    if form.validate_on_submit():
        again = submissions.repeated(
            form, "meeting", lambda i: url_for("meetings.show", meeting_id=i)
        )
        if again is not None:
            return again
        try:
            meeting = service.log_meeting(
                co, by=current_user, uploads=form.files.uploads, **_details(form, co)
            )
        except (service.MeetingError, localtime.WallTimeRefused) as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            submissions.created(form, meeting.id)
            db.session.commit()
            flash(_("The meeting is recorded."), "success")
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    return render_template("meetings/form.html", co=co, form=form, meeting=None)


@bp.route("/meetings/<int:meeting_id>")
@login_required
def show(meeting_id: int):
    meeting = load(Meeting, meeting_id, "view")
    present = sorted(meeting.attendance, key=lambda a: a.membership.user.name)
    return render_template(
        "meetings/show.html",
        meeting=meeting,
        co=meeting.organisation,
        present=present,
        files=attachments.attachments_of(meeting),
        problems=service.problems_raised(meeting),
    )


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@login_required
def edit(meeting_id: int):
    meeting = load(Meeting, meeting_id, "edit")
    co = meeting.organisation
    form = MeetingForm(service.tickable_members(co, meeting), obj=meeting)
    if not form.is_submitted():
        local = localtime.to_local(meeting.held_at, co.municipality.timezone)
        form.day.data, form.time.data = local.date(), local.time().replace(second=0)
        form.kind.data = meeting.kind.value
        form.present.data = [a.membership_id for a in meeting.attendance]
    if form.validate_on_submit():
        try:
            service.edit_meeting(
                meeting, by=current_user, uploads=form.files.uploads, **_details(form, co)
            )
        except (service.MeetingError, localtime.WallTimeRefused) as error:
            db.session.rollback()
            show_refusal(form, error)
        else:
            db.session.commit()
            flash(_("The meeting record is saved."), "success")
            return redirect(url_for("meetings.show", meeting_id=meeting.id))
    return render_template(
        "meetings/form.html",
        co=co,
        form=form,
        meeting=meeting,
        files=attachments.attachments_of(meeting),
    )


def _details(form: MeetingForm, co: CommunityOrganisation) -> dict:
    """The form's values as the service takes them; time typed in the municipality's zone."""
    return {
        "kind": form.kind.data,
        "held_at": service.local_to_utc(form.day.data, form.time.data, co.municipality.timezone),
        "place": form.place.data,
        "agenda": form.agenda.data,
        "minutes": form.minutes.data,
        "decisions": form.decisions.data,
        "women_present": form.women_present.data,
        "men_present": form.men_present.data,
        "other_present": form.other_present.data,
        "present": form.present.data or [],
    }
