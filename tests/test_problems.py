"""Recording a CO's problems: who may, the meeting link, photos, filters, close and reopen."""

import io
import os

import pytest
from flask import g
from sqlalchemy import func, select

from consult.attachments.models import Attachment
from consult.audit.models import AuditEvent
from consult.core.enums import ProblemCategory, ProblemStatus
from consult.extensions import db
from consult.problems import service
from consult.problems.models import Problem
from consult.proposals.models import Proposal
from tests.helpers import csrf_token, pager_link
from tests.test_attachments import png_bytes


def form_data(**overrides):
    data = {
        "title": "Lane 4 floods after every rain",
        "category": "drainage",
        "description": "Water stands knee-deep for days.",
        "location": "Behind the pagoda",
        "latitude": "",
        "longitude": "",
        "households_affected": "35",
        "meeting_id": "0",
    }
    data.update(overrides)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def actions(name: str) -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == name))


# --- service ------------------------------------------------------------------------------


def test_report_problem_refuses_another_cos_meeting(app, world, make):
    elsewhere = make.meeting(world.other_co)
    with pytest.raises(service.ProblemError):
        service.report_problem(
            world.co, by=world.member, meeting=elsewhere, title="x", category="drainage"
        )


def test_close_and_reopen_only_between_open_and_closed(app, world, make):
    problem = make.problem(world.co)
    service.close_problem(problem, by=world.leader)
    assert problem.status == ProblemStatus.CLOSED
    with pytest.raises(service.ProblemError):
        service.close_problem(problem, by=world.leader)
    service.reopen_problem(problem, by=world.leader)
    assert problem.status == ProblemStatus.OPEN
    problem.status = ProblemStatus.ADDRESSED  # the proposal workflow's business
    with pytest.raises(service.ProblemError):
        service.reopen_problem(problem, by=world.leader)
    with pytest.raises(service.ProblemError):
        service.close_problem(problem, by=world.leader)
    assert actions("problem.closed") == 1 and actions("problem.reopened") == 1


def test_edit_problem_records_what_changed(app, world, make):
    problem = make.problem(world.co, title="Old title")
    service.edit_problem(problem, by=world.member, title="New title", households_affected=50)
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "problem.edited")
    ).one()
    assert event.detail["changed"]["title"] == ["Old title", "New title"]
    assert event.detail["changed"]["households_affected"] == [40, 50]


# --- routes -------------------------------------------------------------------------------


def test_member_records_a_problem_raised_at_a_meeting_with_photo(client, as_user, world, make):
    meeting = make.meeting(world.co)
    db.session.commit()
    as_user(world.member)
    form = client.get(f"/co/{world.co.id}/problems/new?meeting_id={meeting.id}")
    assert f'<option selected value="{meeting.id}">' in form.get_data(as_text=True)
    data = form_data(
        meeting_id=str(meeting.id),
        latitude="11.5564",
        longitude="104.9282",
        photos=[(io.BytesIO(png_bytes()), "lane.png")],
    )
    r = client.post(f"/co/{world.co.id}/problems/new", data=data)
    assert r.status_code == 302
    problem = db.session.scalars(select(Problem)).one()
    assert problem.meeting_id == meeting.id and problem.reported_by_id == world.member.id
    assert problem.status == ProblemStatus.OPEN and problem.households_affected == 35
    assert problem.latitude == pytest.approx(11.5564)
    [photo] = db.session.scalars(select(Attachment)).all()
    assert photo.problem_id == problem.id
    assert actions("problem.reported") == 1

    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "Lane 4 floods after every rain" in html
    assert f"/attachments/{photo.id}" in html
    assert f"/meetings/{meeting.id}" in html
    # and the meeting page lists it
    as_user(world.leader)
    assert "Lane 4 floods" in client.get(f"/meetings/{meeting.id}").get_data(as_text=True)


def test_other_cos_meeting_is_refused_and_typing_kept(client, as_user, world, make):
    elsewhere = make.meeting(world.other_co)
    db.session.commit()
    as_user(world.member)
    r = client.post(f"/co/{world.co.id}/problems/new", data=form_data(meeting_id=str(elsewhere.id)))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Choose a meeting of this community organisation." in html
    assert "Lane 4 floods after every rain" in html
    assert count(Problem) == 0


def test_prefill_ignores_another_cos_meeting(client, as_user, world, make):
    elsewhere = make.meeting(world.other_co)
    db.session.commit()
    as_user(world.member)
    html = client.get(f"/co/{world.co.id}/problems/new?meeting_id={elsewhere.id}").get_data(
        as_text=True
    )
    assert f'value="{elsewhere.id}"' not in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("latitude", "91", "Between -90 and 90."),
        ("households_affected", "-1", "Enter 0 or more."),
        ("title", "", "Give the problem a short title."),
    ],
)
def test_bad_values_are_refused_with_the_form_kept(client, as_user, world, field, value, message):
    as_user(world.member)
    data = form_data(**{field: value, "longitude": "104.9" if field == "latitude" else ""})
    r = client.post(f"/co/{world.co.id}/problems/new", data=data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert message in html and "Water stands knee-deep for days." in html
    assert count(Problem) == 0


def test_pdf_is_not_a_problem_photo(app, client, as_user, world):
    as_user(world.member)
    data = form_data(photos=[(io.BytesIO(b"%PDF-1.4 minutes"), "minutes.pdf")])
    r = client.post(f"/co/{world.co.id}/problems/new", data=data)
    assert r.status_code == 200
    assert "is not a photo" in r.get_data(as_text=True)
    assert count(Problem) == 0 and count(Attachment) == 0
    folder = app.config["UPLOAD_FOLDER"]
    assert not os.path.isdir(folder) or os.listdir(folder) == []


def test_who_may_record_and_see_problems(client, as_user, world, make):
    problem = make.problem(world.co)
    db.session.commit()
    for user in (world.officer, world.staff, world.other_member):
        as_user(user)
        assert client.get(f"/co/{world.co.id}/problems/new").status_code == 403, user.name
    for user in (world.other_member, world.other_leader, world.other_officer, world.outsider):
        as_user(user)
        assert client.get(f"/problems/{problem.id}").status_code == 403, user.name
        assert client.get(f"/co/{world.co.id}/problems").status_code == 403, user.name
    for user in (world.officer, world.staff, world.member):
        as_user(user)
        assert client.get(f"/problems/{problem.id}").status_code == 200, user.name
        assert client.get(f"/co/{world.co.id}/problems").status_code == 200, user.name


def test_list_filters_by_status_and_category(client, as_user, world, make):
    make.problem(world.co, title="Open drain", category=ProblemCategory.DRAINAGE)
    make.problem(world.co, title="Closed drain", status=ProblemStatus.CLOSED)
    make.problem(world.co, title="Open water", category=ProblemCategory.WATER)
    db.session.commit()
    as_user(world.member)
    url = f"/co/{world.co.id}/problems"
    html = client.get(f"{url}?status=open&category=drainage").get_data(as_text=True)
    assert "Open drain" in html and "Closed drain" not in html and "Open water" not in html
    html = client.get(f"{url}?status=closed").get_data(as_text=True)
    assert "Closed drain" in html and "Open drain" not in html
    # nonsense in the query string is ignored, not an error
    html = client.get(f"{url}?status=nonsense&page=x").get_data(as_text=True)
    assert "Open drain" in html and "Closed drain" in html


def test_list_is_paginated(client, as_user, world, make):
    for i in range(23):
        make.problem(world.co, title=f"Problem number {i:02d}")
    db.session.commit()
    as_user(world.member)
    first = client.get(f"/co/{world.co.id}/problems").get_data(as_text=True)
    assert "(23)" in first
    second = client.get(pager_link(first)).get_data(as_text=True)
    assert first.count("Problem number") == 20 and second.count("Problem number") == 3
    assert "Problem number 00" in second and "Problem number 22" in first
    assert 'rel="next"' not in second


def test_show_lists_proposals_answering_it_as_the_viewer_may_see(client, as_user, world, make):
    problem = make.problem(world.co)
    draft = make.proposal(world.co, title="Draft drain")
    sent = make.proposal(world.co, title="Submitted drain", state="submitted")
    draft.problems.append(problem)
    sent.problems.append(problem)
    db.session.commit()
    as_user(world.member)
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "Draft drain" in html and "Submitted drain" in html
    as_user(world.officer)
    html = client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert "Submitted drain" in html and "Draft drain" not in html
    assert count(Proposal) == 2


def test_reporter_edits_while_open_leader_always(client, as_user, world, make):
    problem = make.problem(world.co, reported_by_id=world.member.id)
    db.session.commit()
    as_user(world.member)
    r = client.post(f"/problems/{problem.id}/edit", data=form_data(title="Better title"))
    assert r.status_code == 302
    assert db.session.get(Problem, problem.id).title == "Better title"
    as_user(world.other_leader)
    assert client.post(f"/problems/{problem.id}/edit", data=form_data()).status_code == 403
    db.session.get(Problem, problem.id).status = ProblemStatus.CLOSED
    db.session.commit()
    as_user(world.member)
    assert client.get(f"/problems/{problem.id}/edit").status_code == 403
    as_user(world.leader)
    assert client.get(f"/problems/{problem.id}/edit").status_code == 200


def test_leader_closes_and_reopens_members_cannot(client, as_user, world, make):
    problem = make.problem(world.co)
    db.session.commit()
    as_user(world.member)
    assert client.post(f"/problems/{problem.id}/close").status_code == 403
    as_user(world.other_leader)
    assert client.post(f"/problems/{problem.id}/close").status_code == 403
    as_user(world.leader)
    assert "Close the problem" in client.get(f"/problems/{problem.id}").get_data(as_text=True)
    assert client.post(f"/problems/{problem.id}/close").status_code == 302
    assert db.session.get(Problem, problem.id).status == ProblemStatus.CLOSED
    # a second click is answered with a message, not an error
    r = client.post(f"/problems/{problem.id}/close", follow_redirects=True)
    assert r.status_code == 200 and "cannot be changed here" in r.get_data(as_text=True)
    assert client.post(f"/problems/{problem.id}/reopen").status_code == 302
    assert db.session.get(Problem, problem.id).status == ProblemStatus.OPEN
    assert actions("problem.closed") == 1 and actions("problem.reopened") == 1


def test_close_needs_csrf_and_get_changes_nothing(csrf_app, world, make):
    problem = make.problem(world.co)
    db.session.commit()
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = world.leader.get_id()
        session["_fresh"] = True
    g.pop("_login_user", None)
    assert client.get(f"/problems/{problem.id}/close").status_code == 405
    assert client.post(f"/problems/{problem.id}/close").status_code == 400
    db.session.expire_all()  # same database, read through the test's own session
    assert db.session.get(Problem, problem.id).status == ProblemStatus.OPEN
    token = csrf_token(client.get(f"/problems/{problem.id}").data)
    r = client.post(f"/problems/{problem.id}/close", data={"csrf_token": token})
    assert r.status_code == 302
    db.session.expire_all()  # same database, read through the test's own session
    assert db.session.get(Problem, problem.id).status == ProblemStatus.CLOSED
