"""Uploads: checked by content and size, stored under random names, served to the right people."""

import io
import os
import struct
import zlib

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from consult.attachments import service
from consult.attachments.models import Attachment
from consult.extensions import db
from consult.meetings.models import Meeting
from tests import images


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A small, valid PNG (grey pixels), built here so no fixture file is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def get_status(client, url: str) -> int:
    """Status of a GET, closing the response (a served file stays open until then)."""
    with client.get(url) as r:
        return r.status_code


def upload(data: bytes, name: str = "photo.png", content_type: str = "image/png"):
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type=content_type)


def files_on_disk(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return os.listdir(folder) if os.path.isdir(folder) else []


def attachment_count() -> int:
    return db.session.scalar(select(func.count(Attachment.id)))


# --- check_upload -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_file", "sent_as"),
    [
        (png_bytes, "image/png"),
        (images.jpeg_bytes, "image/jpeg"),
        (images.webp_bytes, "image/webp"),
        (images.heic_bytes, "image/heic"),
    ],
)
def test_check_upload_decides_type_by_content(app, make_file, sent_as):
    # The browser's claim and the name say otherwise; the bytes decide. Photos are re-encoded.
    data = make_file()
    assert service.sniff(data) == sent_as
    checked = service.check_upload(upload(data, "whatever.txt", "text/plain"))
    assert checked.content_type == "image/webp"
    assert images.read_back(checked.data).format == "WEBP"
    assert checked.original_name == "whatever.txt"


def test_check_upload_keeps_a_pdf_as_sent(app):
    checked = service.check_upload(upload(PDF, "minutes.txt", "text/plain"))
    assert checked.content_type == "application/pdf"
    assert checked.data == PDF
    assert checked.thumbnail is None


def test_check_upload_refuses_text_named_like_a_photo(app):
    with pytest.raises(service.UploadRefused) as refused:
        service.check_upload(upload(b"just some text, not a picture", "photo.png"))
    assert "photo.png" in str(refused.value)


def test_check_upload_refuses_html_polyglot_claiming_image(app):
    with pytest.raises(service.UploadRefused):
        service.check_upload(upload(b"<html><script>alert(1)</script>", "x.jpg", "image/jpeg"))


def test_check_upload_refuses_empty_file(app):
    with pytest.raises(service.UploadRefused) as refused:
        service.check_upload(upload(b"", "empty.png"))
    assert "empty.png" in str(refused.value)


def test_check_upload_refuses_oversize_naming_file_and_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1024 * 1024)
    big = png_bytes() + b"\x00" * (1024 * 1024)
    with pytest.raises(service.UploadRefused) as refused:
        service.check_upload(upload(big, "big.png"))
    message = str(refused.value)
    assert "big.png" in message and "1" in message and "MB" in message
    # exactly at the limit is fine
    exact = png_bytes() + b"\x00" * (1024 * 1024 - len(png_bytes()))
    assert service.check_upload(upload(exact, "exact.png")).width == 2


def test_check_upload_can_be_limited_to_images(app):
    with pytest.raises(service.UploadRefused):
        service.check_upload(upload(PDF, "minutes.pdf"), allowed=service.IMAGES)


def test_check_uploads_skips_unchosen_inputs_and_limits_the_count(app):
    assert service.check_uploads([FileStorage(stream=io.BytesIO(b""), filename="")]) == []
    six = [upload(png_bytes(), f"p{i}.png") for i in range(6)]
    with pytest.raises(service.UploadRefused):
        service.check_uploads(six)
    assert len(service.check_uploads(six[:5])) == 5


def test_display_name_drops_folders_and_control_characters(app):
    assert service.display_name("C:\\Users\\me\\photo.png") == "photo.png"
    assert service.display_name("../../etc/passwd") == "passwd"
    assert service.display_name("a\x00b\nc.png") == "abc.png"


# --- store and clean-up -------------------------------------------------------------------


def test_store_writes_random_names_and_keeps_committed_files(app, world, make):
    meeting = make.meeting(world.co)
    checked = service.check_uploads([upload(png_bytes(), "../../evil.png")])
    [attachment] = service.store(checked, owner=meeting, by=world.leader)
    db.session.commit()
    assert attachment.meeting_id == meeting.id and attachment.problem_id is None
    assert attachment.original_name == "evil.png"
    assert "evil" not in attachment.stored_name and attachment.stored_name.endswith(".webp")
    assert sorted(files_on_disk(app)) == sorted([attachment.stored_name, attachment.thumb_name])
    with open(os.path.join(app.config["UPLOAD_FOLDER"], attachment.stored_name), "rb") as fh:
        assert fh.read() == checked[0].data
    assert (attachment.width, attachment.height) == (2, 2)


def test_rolled_back_store_removes_its_files(app, world, make):
    meeting = make.meeting(world.co)
    db.session.commit()
    service.store(service.check_uploads([upload(png_bytes())]), owner=meeting, by=world.leader)
    assert len(files_on_disk(app)) == 2  # the photo and its thumbnail
    db.session.rollback()
    assert files_on_disk(app) == []
    assert attachment_count() == 0


def test_failed_commit_removes_its_files(app, world, make):
    meeting = make.meeting(world.co)
    db.session.commit()
    service.store(service.check_uploads([upload(png_bytes())]), owner=meeting, by=world.leader)
    db.session.add(Meeting(co_id=world.co.id, held_at=None))  # NOT NULL: the commit fails
    with pytest.raises(Exception):  # noqa: B017 - whichever IntegrityError the driver raises
        db.session.commit()
    db.session.rollback()
    assert files_on_disk(app) == []
    assert attachment_count() == 0


# --- download -----------------------------------------------------------------------------


def _stored(world, make, data, name, owner=None):
    owner = owner or make.meeting(world.co)
    checked = service.check_uploads([upload(data, name)])
    [attachment] = service.store(checked, owner=owner, by=world.leader)
    db.session.commit()
    return attachment


def test_download_image_inline_with_stored_type_and_nosniff(client, login, world, make):
    attachment = _stored(world, make, png_bytes(), "រូបថត.png")  # a Khmer filename
    login(world.member)
    r = client.get(f"/attachments/{attachment.id}")
    assert r.status_code == 200
    assert r.mimetype == "image/webp"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("inline")
    assert "filename*=UTF-8''" in disposition and "%E1%9E" in disposition  # Khmer, encoded
    assert ".webp" in disposition and ".png" not in disposition
    assert images.read_back(r.data).size == (2, 2)
    r.close()


def test_download_pdf_as_attachment_with_matching_extension(client, login, world, make):
    attachment = _stored(world, make, PDF, "minutes.exe")
    login(world.leader)
    r = client.get(f"/attachments/{attachment.id}")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert "minutes.exe.pdf" in r.headers["Content-Disposition"]
    r.close()


def test_meeting_file_refused_to_other_co_and_officers(client, login, world, make):
    attachment = _stored(world, make, png_bytes(), "photo.png")
    for outsider in (world.other_member, world.other_leader, world.officer, world.outsider):
        login(outsider)
        assert get_status(client, f"/attachments/{attachment.id}") == 403, outsider.name
    login(world.staff)
    assert get_status(client, f"/attachments/{attachment.id}") == 200


def test_problem_file_follows_problem_access(client, login, world, make):
    attachment = _stored(world, make, png_bytes(), "lane.png", owner=make.problem(world.co))
    login(world.officer)
    assert get_status(client, f"/attachments/{attachment.id}") == 200
    login(world.other_officer)
    assert get_status(client, f"/attachments/{attachment.id}") == 403


def test_download_needs_a_login(client, world, make):
    attachment = _stored(world, make, png_bytes(), "photo.png")
    r = client.get(f"/attachments/{attachment.id}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
