"""Logging a CO's meetings: attendance, head-counts, files, access, time zones."""

import io
import os
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from consult.attachments.models import Attachment
from consult.audit.models import AuditEvent
from consult.extensions import db
from consult.meetings import service
from consult.meetings.models import Attendance, Meeting
from tests.helpers import csrf_token, pager_link
from tests.test_attachments import png_bytes


def membership_id(user, co):
    return user.membership_in(co.id).id


def form_data(world, **overrides):
    data = {
        "kind": "consultation",
        "day": "2025-03-08",
        "time": "18:30",
        "place": "Pagoda hall",
        "agenda": "Flooding on lane 4",
        "minutes": "Everyone agreed the lane floods every rainy season.",
        "decisions": "Ask the municipality for a drain.",
        "present": [
            str(membership_id(world.leader, world.co)),
            str(membership_id(world.member, world.co)),
        ],
        "women_present": "14",
        "men_present": "9",
        "other_present": "1",
    }
    data.update(overrides)
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def uploads_on_disk(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return os.listdir(folder) if os.path.isdir(folder) else []


def post_large(client, url: str, data: dict):
    """POST a body over 500 KB. Werkzeug's test builder spools such a body to a temporary file
    it never closes; building the request here lets the test close it."""
    builder = EnvironBuilder(path=url, method="POST", data=data)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


# --- service ------------------------------------------------------------------------------


def test_local_time_is_stored_as_utc():
    held = service.local_to_utc(date(2025, 3, 8), time(18, 30), "Asia/Phnom_Penh")
    assert held == datetime(2025, 3, 8, 11, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ticked", "counts", "ok"),
    [(2, (1, 1, 0), True), (3, (1, 1, 0), False), (0, (0, 0, 0), True), (0, (-1, 2, 0), False)],
)
def test_check_headcount(ticked, counts, ok):
    if ok:
        service.check_headcount(ticked, *counts)
    else:
        with pytest.raises(service.MeetingError):
            service.check_headcount(ticked, *counts)


def test_log_meeting_refuses_someone_from_another_co(app, world):
    with pytest.raises(service.MeetingError):
        service.log_meeting(
            world.co,
            by=world.leader,
            present=[membership_id(world.other_member, world.other_co)],
            held_at=datetime(2025, 3, 8, 11, 30, tzinfo=UTC),
            women_present=3,
            men_present=0,
            other_present=0,
        )


def test_edit_meeting_replaces_attendance_and_is_audited(app, world, make):
    meeting = make.meeting(world.co, women_present=5, men_present=5)
    service.edit_meeting(
        meeting,
        by=world.leader,
        present=[membership_id(world.member, world.co)],
        minutes="Corrected minutes",
    )
    db.session.commit()
    assert [a.membership_id for a in meeting.attendance] == [membership_id(world.member, world.co)]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "meeting.edited")
    ).one()
    assert event.detail["changed"]["minutes"] == [None, "Corrected minutes"]
    assert "members_present" in event.detail["changed"]


# --- routes -------------------------------------------------------------------------------


def test_leader_logs_a_meeting_with_attendance_counts_and_photo(app, client, login, world):
    login(world.leader)
    form = client.get(f"/co/{world.co.id}/meetings/new").get_data(as_text=True)
    assert 'type="checkbox"' in form and "Dara (member)" in form
    assert "members or not" in form and 'enctype="multipart/form-data"' in form
    data = form_data(world, files=[(io.BytesIO(png_bytes()), "hall.png")])
    r = client.post(f"/co/{world.co.id}/meetings/new", data=data)
    assert r.status_code == 302
    meeting = db.session.scalars(select(Meeting)).one()
    assert r.headers["Location"].endswith(f"/meetings/{meeting.id}")
    # 18:30 in Phnom Penh (UTC+7) is 11:30 UTC
    assert meeting.held_at == datetime(2025, 3, 8, 11, 30, tzinfo=UTC)
    assert (meeting.women_present, meeting.men_present, meeting.other_present) == (14, 9, 1)
    assert count(Attendance) == 2
    [photo] = db.session.scalars(select(Attachment)).all()
    assert photo.meeting_id == meeting.id and photo.content_type == "image/webp"
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "meeting.logged")
        )
        == 1
    )

    page = client.get(f"/meetings/{meeting.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sokha (leader)" in html and "Dara (member)" in html
    assert "Everyone agreed the lane floods" in html
    assert "58%" in html  # 14 women of 24 people
    assert f"/attachments/{photo.id}" in html
    assert f"/co/{world.co.id}/problems/new?meeting_id={meeting.id}" in html


def test_meeting_list_newest_first_and_paginated(client, login, world, make):
    now = datetime.now(UTC)
    for days in range(25):
        make.meeting(world.co, held_at=now - timedelta(days=days), place=f"Place {days:02d}")
    db.session.commit()
    login(world.member)
    first = client.get(f"/co/{world.co.id}/meetings").get_data(as_text=True)
    assert first.index("Place 00") < first.index("Place 01")
    assert "Place 24" not in first
    second = client.get(pager_link(first)).get_data(as_text=True)
    assert "Place 24" in second and "Place 00" not in second


def test_member_cannot_log_a_meeting(client, login, world):
    login(world.member)
    assert client.get(f"/co/{world.co.id}/meetings/new").status_code == 403
    assert client.post(f"/co/{world.co.id}/meetings/new", data=form_data(world)).status_code == 403
    assert count(Meeting) == 0


def test_other_co_and_officer_cannot_see_or_edit_a_meeting(client, login, world, make):
    meeting = make.meeting(world.co)
    db.session.commit()
    for user in (world.other_member, world.other_leader, world.officer):
        login(user)
        assert client.get(f"/meetings/{meeting.id}").status_code == 403, user.name
        assert client.get(f"/co/{world.co.id}/meetings").status_code == 403, user.name
    login(world.other_leader)
    assert client.post(f"/meetings/{meeting.id}/edit", data=form_data(world)).status_code == 403
    login(world.member)
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    assert client.get(f"/meetings/{meeting.id}/edit").status_code == 403
    login(world.staff)
    assert client.get(f"/meetings/{meeting.id}").status_code == 200


def test_negative_head_count_is_refused_and_typing_kept(client, login, world):
    login(world.leader)
    r = client.post(f"/co/{world.co.id}/meetings/new", data=form_data(world, men_present="-3"))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Enter 0 or more." in html
    assert "Everyone agreed the lane floods" in html
    assert count(Meeting) == 0


def test_fewer_people_counted_than_members_ticked_is_refused(client, login, world):
    login(world.leader)
    data = form_data(world, women_present="1", men_present="0", other_present="0")
    r = client.post(f"/co/{world.co.id}/meetings/new", data=data)
    assert r.status_code == 200
    assert "2 members are ticked as present, but only 1 person is counted" in r.get_data(
        as_text=True
    )
    assert count(Meeting) == 0


def test_non_image_upload_refused_keeping_minutes_and_leaving_nothing(app, client, login, world):
    login(world.leader)
    data = form_data(world, files=[(io.BytesIO(b"not a picture at all"), "photo.png")])
    r = client.post(f"/co/{world.co.id}/meetings/new", data=data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "“photo.png” is not a photo" in html
    assert "please choose them again" in html
    assert "Everyone agreed the lane floods" in html  # the typed minutes are kept
    assert count(Meeting) == 0 and count(Attachment) == 0
    assert uploads_on_disk(app) == []


def test_oversize_upload_refused_keeping_minutes_and_leaving_nothing(
    app, client, login, world, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    login(world.leader)
    big = png_bytes() + b"\x00" * app.config["UPLOAD_MAX_BYTES"]
    data = form_data(
        world, files=[(io.BytesIO(png_bytes()), "fine.png"), (io.BytesIO(big), "big.png")]
    )
    r = post_large(client, f"/co/{world.co.id}/meetings/new", data)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "“big.png” is too large" in html and "1 MB" in html
    assert "Everyone agreed the lane floods" in html
    assert count(Meeting) == 0 and count(Attachment) == 0
    assert uploads_on_disk(app) == []  # the valid file was not written either


def test_leader_edits_a_meeting_in_local_time(client, login, world, make):
    meeting = make.meeting(world.co, held_at=datetime(2025, 3, 8, 11, 30, tzinfo=UTC))
    db.session.commit()
    login(world.leader)
    form = client.get(f"/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="2025-03-08"' in form and 'value="18:30"' in form  # shown in local time
    r = client.post(
        f"/meetings/{meeting.id}/edit",
        data=form_data(world, time="19:00", present=[str(membership_id(world.member, world.co))]),
    )
    assert r.status_code == 302
    db.session.expire_all()
    meeting = db.session.get(Meeting, meeting.id)
    assert meeting.held_at == datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    assert [a.membership_id for a in meeting.attendance] == [membership_id(world.member, world.co)]


def test_logging_a_meeting_with_csrf_on(csrf_app, world):
    client = csrf_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = world.leader.get_id()
        session["_fresh"] = True
    url = f"/co/{world.co.id}/meetings/new"
    assert client.post(url, data=form_data(world)).status_code == 400  # no token
    token = csrf_token(client.get(url).data)
    r = client.post(url, data=form_data(world, csrf_token=token))
    assert r.status_code == 302
    assert count(Meeting) == 1  # same database, read through the test's own session
