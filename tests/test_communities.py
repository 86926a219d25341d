"""The CO's own settings and the error pages people meet."""

from datetime import timedelta

from sqlalchemy import select

from consult.audit.models import AuditEvent
from consult.core.db import utcnow
from consult.extensions import db
from consult.proposals import service as proposals


def test_leader_changes_the_voting_rules_and_it_is_audited(client, world, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/rules",
        data={"quorum_percent": "60", "threshold_percent": "66", "priority_points": "5"},
    )
    assert r.status_code == 302
    co = world.co
    assert (co.quorum_percent, co.threshold_percent, co.priority_points) == (60, 66, 5)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "co.rules_changed"))
    assert event.actor_id == world.leader.id
    assert event.detail["before"]["quorum_percent"] == 50
    assert event.detail["after"]["threshold_percent"] == 66


def test_rules_apply_to_votes_opened_afterwards_only(client, world, login, make):
    earlier = make.proposal(world.co)
    running = proposals.open_vote(earlier, world.leader, utcnow() + timedelta(days=3))
    db.session.commit()
    login(world.leader)
    client.post(
        f"/co/{world.co.id}/rules",
        data={"quorum_percent": "80", "threshold_percent": "50", "priority_points": "3"},
    )
    later = make.proposal(world.co)
    new = proposals.open_vote(later, world.leader, utcnow() + timedelta(days=3))
    assert (running.quorum_percent, new.quorum_percent) == (50, 80)


def test_bad_rules_are_refused_with_the_typed_values_kept(client, world, login):
    login(world.leader)
    r = client.post(
        f"/co/{world.co.id}/rules",
        data={"quorum_percent": "150", "threshold_percent": "50", "priority_points": "3"},
    )
    assert r.status_code == 200
    assert "Between 0 and 100." in r.get_data(as_text=True)
    assert 'value="150"' in r.get_data(as_text=True)
    assert world.co.quorum_percent == 50


def test_members_and_other_leaders_cannot_change_the_rules(client, world, login):
    for user in (world.member, world.other_leader, world.officer, world.staff):
        login(user)
        r = client.post(
            f"/co/{world.co.id}/rules",
            data={"quorum_percent": "1", "threshold_percent": "1", "priority_points": "1"},
        )
        assert r.status_code == 403, user.name
    assert world.co.quorum_percent == 50


def test_missing_pages_and_refusals_are_friendly(client, world, login):
    login(world.member)
    r = client.get("/co/999999")
    assert r.status_code == 404
    assert "This page does not exist" in r.get_data(as_text=True)
    r = client.get(f"/co/{world.other_co.id}")
    assert r.status_code == 403
    assert "You do not have access to this page." in r.get_data(as_text=True)


def test_a_crash_shows_a_calm_page_and_keeps_nothing_half_written(
    database, tmp_path, app, world, make
):
    from consult.auth.models import User
    from tests.conftest import make_test_app

    crashy = make_test_app(database, tmp_path, PROPAGATE_EXCEPTIONS=False)

    @crashy.route("/boom/<int:user_id>")
    def boom(user_id):
        db.session.get(User, user_id).name = "Half-written"
        db.session.flush()
        raise RuntimeError("a bug")

    r = crashy.test_client().get(f"/boom/{world.member.id}")
    assert r.status_code == 500
    assert "Something went wrong on our side." in r.get_data(as_text=True)
    db.session.expire_all()
    assert world.member.name != "Half-written"
    with crashy.app_context():
        db.engine.dispose()
