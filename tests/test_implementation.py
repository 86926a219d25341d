"""Implementation: services first, then the works page through its real forms."""

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from consult.attachments.models import Attachment
from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.core.enums import ProblemStatus, ProposalState
from consult.extensions import db
from consult.implementation import service
from consult.implementation.models import ImplementationUpdate
from consult.notifications.models import Notification
from consult.proposals.models import Proposal
from consult.proposals.workflow import TransitionRefused
from tests.helpers import csrf_token
from tests.test_attachments import png_bytes

PNG = png_bytes()  # a real photo: a bare PNG header is refused as damaged


def agreed(make, co, state=ProposalState.AGREED, **kw):
    """An agreed proposal answering two problems of ``co``, agreed a month ago."""
    problems = [
        make.problem(co, status=ProblemStatus.ADDRESSED),
        make.problem(co, status=ProblemStatus.ADDRESSED),
    ]
    p = make.proposal(co, state=state, agreed_at=utcnow() - timedelta(days=30), **kw)
    p.problems = problems
    if state != ProposalState.AGREED:
        p.started_on = date.today() - timedelta(days=20)
    db.session.flush()
    return p


def notices(user, kind):
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.kind == kind
        )
    )


def audit(action):
    # in the order they happened: without ORDER BY, PostgreSQL may return rows in any order
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return db.session.scalars(query).all()


def reload(p):
    db.session.expire_all()
    return db.session.get(Proposal, p.id)


# --- services -------------------------------------------------------------------------------


def test_start_works(app, world, make):
    p = agreed(make, world.co)
    day = service.local_today(p)
    service.start_works(p, world.officer, day)
    assert p.state == ProposalState.IN_PROGRESS
    assert p.started_on == day
    (ev,) = audit("proposal.start")
    assert ev.actor_id == world.officer.id and ev.detail["started_on"] == day.isoformat()
    assert notices(world.leader, "proposal.state_changed") == 1


def test_start_date_is_checked(app, world, make):
    p = agreed(make, world.co)
    today = service.local_today(p)
    with pytest.raises(service.ImplementationError) as refused:
        service.start_works(p, world.officer, today + timedelta(days=1))
    assert refused.value.field == "started_on"
    with pytest.raises(service.ImplementationError, match="before the agreement"):
        service.start_works(p, world.officer, today - timedelta(days=60))
    with pytest.raises(service.ImplementationError):
        service.start_works(p, world.officer, None)
    assert p.state == ProposalState.AGREED


def test_only_the_municipality_or_staff_start(app, world, make):
    p = agreed(make, world.co)
    with pytest.raises(TransitionRefused):
        service.start_works(p, world.leader, service.local_today(p))
    with pytest.raises(TransitionRefused):
        service.start_works(p, world.other_officer, service.local_today(p))
    service.start_works(p, world.staff, service.local_today(p))
    assert p.state == ProposalState.IN_PROGRESS


def test_update_moves_progress_and_tells_the_co(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    u = service.post_update(p, world.officer, progress=40, note="Base laid", spent=1500000)
    assert p.progress_percent == 40
    assert u.spent == 1500000 and u.author_id == world.officer.id
    (ev,) = audit("implementation.updated")
    assert ev.detail["before"] == 0 and ev.detail["after"] == 40
    assert notices(world.member, "implementation.updated") == 1
    assert notices(world.leader, "implementation.updated") == 1
    assert notices(world.officer, "implementation.updated") == 0
    assert notices(world.other_member, "implementation.updated") == 0


def test_progress_goes_back_only_with_a_note(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS, progress_percent=60)
    with pytest.raises(service.ImplementationError) as refused:
        service.post_update(p, world.officer, progress=50)
    assert refused.value.field == "note"
    assert p.progress_percent == 60
    service.post_update(p, world.officer, progress=50, note="Rain washed out a section")
    assert p.progress_percent == 50


def test_an_update_must_say_something(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS, progress_percent=30)
    with pytest.raises(service.ImplementationError, match="Nothing new"):
        service.post_update(p, world.officer, progress=30, note="  ")
    with pytest.raises(service.ImplementationError):
        service.post_update(p, world.officer, progress=101)
    with pytest.raises(service.ImplementationError):
        service.post_update(p, world.officer, progress=40, spent=-1)


def test_no_update_before_works_start(app, world, make):
    p = agreed(make, world.co)
    with pytest.raises(service.ImplementationError):
        service.post_update(p, world.officer, progress=10)


def test_comment_tells_the_municipality_and_leaders(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    c = service.comment(p, world.member, "The drain outlet is blocked")
    assert c.progress_percent is None and c.author_id == world.member.id
    assert notices(world.officer, "implementation.commented") == 1
    assert notices(world.leader, "implementation.commented") == 1
    assert audit("implementation.commented")
    with pytest.raises(service.ImplementationError):
        service.comment(p, world.member, "   ")


def test_complete_resolves_the_problems(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS, progress_percent=80)
    resolved = service.complete_works(
        p,
        world.officer,
        completed_on=service.local_today(p),
        actual_cost="39500000",
        households_benefited=72,
    )
    assert p.state == ProposalState.COMPLETED
    assert p.progress_percent == 100
    assert p.actual_cost == 39500000 and p.households_benefited == 72
    assert sorted(resolved) == sorted(pr.id for pr in p.problems)
    assert all(pr.status == ProblemStatus.RESOLVED for pr in p.problems)
    (ev,) = audit("proposal.complete")
    assert ev.detail["households_benefited"] == 72
    assert sorted(ev.detail["problems_resolved"]) == sorted(resolved)


def test_complete_needs_every_fact(app, world, make):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    facts = dict(completed_on=service.local_today(p), actual_cost="100", households_benefited=10)
    for missing in facts:
        with pytest.raises(service.ImplementationError) as refused:
            service.complete_works(p, world.officer, **{**facts, missing: None})
        assert refused.value.field == missing
    with pytest.raises(service.ImplementationError, match="before they started"):
        service.complete_works(
            p, world.officer, **{**facts, "completed_on": p.started_on - timedelta(days=1)}
        )
    assert p.state == ProposalState.IN_PROGRESS
    assert all(pr.status == ProblemStatus.ADDRESSED for pr in p.problems)


# --- pages ----------------------------------------------------------------------------------


def test_works_from_start_to_completion(app, world, make, client, login):
    p = agreed(make, world.co)
    url = f"/proposals/{p.id}/implementation"

    login(world.officer)
    assert "Start works" in client.get(url).get_data(as_text=True)
    start = client.get(f"{url}/start")
    assert start.status_code == 200
    response = client.post(f"{url}/start", data={"started_on": date.today().isoformat()})
    assert response.status_code == 302
    assert reload(p).state == ProposalState.IN_PROGRESS

    response = client.post(
        f"{url}/updates",
        data={
            "update-progress": "45",
            "update-note": "Concrete poured on the first 50 m",
            "update-spent": "12000000",
            "update-files": (io.BytesIO(PNG), "site.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    p = reload(p)
    assert p.progress_percent == 45
    (update,) = db.session.scalars(select(ImplementationUpdate)).all()
    (photo,) = db.session.scalars(select(Attachment)).all()
    assert photo.update_id == update.id

    login(world.member)
    html = client.get(url).get_data(as_text=True)
    assert "45% done" in html
    assert "Concrete poured on the first 50 m" in html
    assert f"/attachments/{photo.id}" in html
    assert "Post an update" not in html  # a member reads and comments, no more
    with client.get(f"/attachments/{photo.id}") as download:
        assert download.status_code == 200
    response = client.post(f"{url}/comments", data={"comment-note": "Thank you! Lane is dry."})
    assert response.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert html.index("Thank you! Lane is dry.") < html.index("Concrete poured")  # newest first

    login(world.officer)
    response = client.post(f"{url}/complete", data={"completed_on": date.today().isoformat()})
    assert response.status_code == 200  # re-rendered with the missing facts marked
    html = response.get_data(as_text=True)
    assert "Enter the actual cost." in html
    assert "Enter the number of households benefiting." in html
    assert reload(p).state == ProposalState.IN_PROGRESS

    response = client.post(
        f"{url}/complete",
        data={
            "completed_on": date.today().isoformat(),
            "actual_cost": "39500000",
            "households_benefited": "72",
        },
    )
    assert response.status_code == 302
    p = reload(p)
    assert p.state == ProposalState.COMPLETED
    assert p.actual_cost == 39500000 and p.households_benefited == 72
    assert all(pr.status == ProblemStatus.RESOLVED for pr in p.problems)
    html = client.get(url).get_data(as_text=True)
    assert "100% done" in html
    assert "39,500,000" in html


def test_a_refused_update_keeps_what_was_typed(app, world, make, client, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS, progress_percent=60)
    login(world.officer)
    response = client.post(
        f"/proposals/{p.id}/implementation/updates",
        data={"update-progress": "50", "update-spent": "250000"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "say why in the note" in html
    assert 'value="50"' in html and 'value="250000"' in html
    assert reload(p).progress_percent == 60
    assert db.session.scalar(select(func.count(ImplementationUpdate.id))) == 0


def test_bad_input_is_a_form_error_not_a_crash(app, world, make, client, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    login(world.officer)
    response = client.post(
        f"/proposals/{p.id}/implementation/updates",
        data={"update-progress": "lots", "update-spent": "-5"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Not a number as written in English" in html and 'value="lots"' in html
    assert "An amount cannot be negative." in html and 'value="-5"' in html
    response = client.post(f"/proposals/{p.id}/implementation/start", data={"started_on": "x"})
    assert response.status_code == 403  # already started: no start for anyone


def test_member_cannot_post_progress(app, world, make, client, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    login(world.member)
    url = f"/proposals/{p.id}/implementation"
    assert client.post(f"{url}/updates", data={"update-progress": "90"}).status_code == 403
    assert client.post(f"{url}/complete", data={}).status_code == 403
    login(world.leader)
    assert client.post(f"{url}/updates", data={"update-progress": "90"}).status_code == 403
    assert reload(p).progress_percent == 0


def test_leader_cannot_start_works(app, world, make, client, login):
    p = agreed(make, world.co)
    login(world.leader)
    url = f"/proposals/{p.id}/implementation"
    assert client.get(url).status_code == 200
    assert client.get(f"{url}/start").status_code == 403
    response = client.post(f"{url}/start", data={"started_on": date.today().isoformat()})
    assert response.status_code == 403
    assert reload(p).state == ProposalState.AGREED


def test_other_municipality_and_other_co_are_refused(app, world, make, client, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    url = f"/proposals/{p.id}/implementation"
    login(world.other_officer)
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/updates", data={"update-progress": "90"}).status_code == 403
    assert client.get(f"{url}/complete").status_code == 403
    login(world.other_member)
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/comments", data={"comment-note": "hi"}).status_code == 403
    assert reload(p).progress_percent == 0
    assert db.session.scalar(select(func.count(ImplementationUpdate.id))) == 0


def test_no_works_page_before_agreement(app, world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.NEGOTIATING)
    login(world.officer)
    assert client.get(f"/proposals/{p.id}/implementation").status_code == 403
    assert client.get("/proposals/999999/implementation").status_code == 404


def test_staff_record_progress(app, world, make, client, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    login(world.staff)
    response = client.post(
        f"/proposals/{p.id}/implementation/updates", data={"update-progress": "10"}
    )
    assert response.status_code == 302
    assert reload(p).progress_percent == 10
    assert notices(world.officer, "implementation.updated") == 1  # staff tell both sides


def test_update_with_csrf_on(app, csrf_app, world, make, login):
    p = agreed(make, world.co, state=ProposalState.IN_PROGRESS)
    db.session.commit()
    c = csrf_app.test_client()
    login(world.officer, c)
    url = f"/proposals/{p.id}/implementation"
    assert c.post(f"{url}/updates", data={"update-progress": "20"}).status_code == 400
    token = csrf_token(c.get(url).data)
    response = c.post(f"{url}/updates", data={"update-progress": "20", "update-csrf_token": token})
    assert response.status_code == 302
    assert reload(p).progress_percent == 20


def test_proposal_page_links_to_the_works(client, world, login, make):
    from consult.core.enums import ProposalState

    p = make.proposal(world.co, state=ProposalState.IN_PROGRESS, progress_percent=45)
    p.started_on = p.created_at.date()
    login(world.member)
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert f"/proposals/{p.id}/implementation" in page
    assert "45%" in page
    draft = make.proposal(world.co)
    assert f"/proposals/{draft.id}/implementation" not in client.get(
        f"/proposals/{draft.id}"
    ).get_data(as_text=True)
