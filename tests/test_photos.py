"""Photos from real phones: made in the test with Pillow, sent through the forms, read back.

Each stored photo is checked by decoding it again: no EXIF, XMP, GPS or ICC left, upright,
long side within the limit, with a thumbnail; bombs, lying names, over-limit requests and
storage failures each give their stated answer and leave nothing half-stored.
"""

import errno
import io
import os
import time
from datetime import timedelta

import pytest
from flask import abort
from sqlalchemy import func, select

from consult.attachments import service, storage
from consult.attachments.models import Attachment
from consult.extensions import db
from consult.problems.models import Problem
from tests import images
from tests.conftest import make_test_app

TYPED = "Water stands knee-deep for days after every rain."


def problem_form(**overrides):
    data = {
        "title": "Lane 4 floods",
        "category": "drainage",
        "description": TYPED,
        "location": "Behind the pagoda",
        "latitude": "",
        "longitude": "",
        "households_affected": "35",
        "meeting_id": "0",
    }
    data.update(overrides)
    return data


def photos(*files):
    return [(io.BytesIO(data), name) for data, name in files]


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def stored_files(app) -> list[str]:
    folder = app.config["UPLOAD_FOLDER"]
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def fetch(client, url: str) -> bytes:
    with client.get(url) as r:
        assert r.status_code == 200, url
        assert r.mimetype == "image/webp"
        return r.data


def assert_clean(data: bytes) -> None:
    """Nothing but pixels: no EXIF (camera, GPS), no XMP, no colour profile."""
    image = images.read_back(data)
    assert image.format == "WEBP"
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile"} & set(image.info)
    for marker in (b"Exif", b"EXIF", b"XMP", b"ICCP", b"Apple", b"iPhone", b"GPS"):
        assert marker not in data, marker


def post_problem(client, world, files, **overrides):
    return client.post(
        f"/co/{world.co.id}/problems/new",
        data=problem_form(photos=photos(*files), **overrides),
        content_type="multipart/form-data",
    )


# --- what is stored -----------------------------------------------------------------------


def test_a_12_megapixel_phone_photo_is_stored_upright_small_and_without_location(
    app, client, login, world
):
    sent = images.jpeg_bytes(4000, 3000, orientation=6)  # portrait, held upright
    original = images.read_back(sent)  # what the phone sent: camera, position, orientation
    assert original.getexif().get_ifd(images.GPS_IFD)[2] == (11.0, 33.0, 25.5)
    assert original.getexif()[images.MAKE] == "Apple" and b"GPS" in original.info["xmp"]
    login(world.member)
    r = post_problem(client, world, [(sent, "IMG_2041.JPG")])
    assert r.status_code == 302, r.get_data(as_text=True)
    [photo] = db.session.scalars(select(Attachment)).all()
    assert (photo.width, photo.height) == (1200, 1600)  # rotated, long side 1600
    assert (photo.thumb_width, photo.thumb_height) == (240, 320)
    assert photo.content_type == "image/webp" and photo.original_stored_name is None

    full = fetch(client, f"/attachments/{photo.id}")
    assert_clean(full)
    shown = images.read_back(full)
    assert shown.size == (1200, 1600)
    # The red corner was top-left in the sensor's pixels; orientation 6 turns it top-right.
    assert shown.getpixel((shown.width - 10, 10))[0] > 180
    assert shown.getpixel((10, 10))[2] > 180
    thumb = fetch(client, f"/attachments/{photo.id}/thumbnail")
    assert_clean(thumb)
    assert images.read_back(thumb).size == (240, 320)
    # Only the re-encoded photo and its thumbnail are kept: the file as sent is gone.
    assert stored_files(app) == sorted([photo.stored_name, photo.thumb_name])


def test_an_iphone_heic_photo_is_accepted_and_stored_as_webp(app, client, login, world):
    login(world.member)
    r = post_problem(client, world, [(images.heic_bytes(640, 480), "IMG_0042.HEIC")])
    assert r.status_code == 302, r.get_data(as_text=True)
    [photo] = db.session.scalars(select(Attachment)).all()
    assert photo.original_name == "IMG_0042.HEIC" and (photo.width, photo.height) == (640, 480)
    full = fetch(client, f"/attachments/{photo.id}")
    assert_clean(full)
    with client.get(f"/attachments/{photo.id}") as r:
        assert "IMG_0042.webp" in r.headers["Content-Disposition"]


def with_colour_profile() -> bytes:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    images.marked(64, 48).save(buffer, "JPEG", icc_profile=profile, exif=images.phone_exif(3))
    assert images.read_back(buffer.getvalue()).info["icc_profile"] == profile
    return buffer.getvalue()


def test_a_portrait_heic_is_stored_upright_once(app):
    checked = service.check_upload(images_upload(images.heic_bytes(orientation=6), "p.HEIC"))
    shown = images.read_back(checked.data)
    assert shown.size == (48, 64)  # turned once, not twice
    assert shown.getpixel((shown.width - 4, 4))[0] > 180 and shown.getpixel((4, 4))[2] > 180


def test_png_webp_and_profiled_photos_lose_their_metadata_too(app):
    for data in (images.webp_bytes(), images.png_image_bytes(mode="RGBA"), with_colour_profile()):
        checked = service.check_upload(images_upload(data, "x.png"))
        assert_clean(checked.data)
        assert_clean(checked.thumbnail.data)


def test_a_small_photo_is_not_enlarged(app):
    checked = service.check_upload(images_upload(images.jpeg_bytes(200, 100), "small.jpg"))
    assert (checked.width, checked.height) == (200, 100)


def test_the_original_is_kept_only_when_asked_and_never_served(
    app, client, login, world, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_KEEP_ORIGINAL", True)
    sent = images.jpeg_bytes(800, 600, orientation=1)
    login(world.member)
    assert post_problem(client, world, [(sent, "lane.jpg")]).status_code == 302
    [photo] = db.session.scalars(select(Attachment)).all()
    assert photo.original_stored_name.endswith(".jpg")
    with open(os.path.join(app.config["UPLOAD_FOLDER"], photo.original_stored_name), "rb") as fh:
        assert fh.read() == sent
    for url in (f"/attachments/{photo.id}", f"/attachments/{photo.id}/thumbnail"):
        assert fetch(client, url) != sent


def images_upload(data: bytes, name: str):
    from werkzeug.datastructures import FileStorage

    return FileStorage(stream=io.BytesIO(data), filename=name)


# --- what is refused ----------------------------------------------------------------------


def test_a_png_bomb_is_refused_clearly_keeping_what_was_typed(app, client, login, world):
    bomb = images.png_bomb()
    assert len(bomb) < 400_000  # a few dozen KB declaring 20000 × 20000 pixels
    login(world.member)
    r = post_problem(client, world, [(bomb, "plan.png")])
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "“plan.png” has too many pixels" in html and "64 megapixels" in html
    assert TYPED in html  # the description is still there
    assert count(Problem) == 0 and count(Attachment) == 0 and stored_files(app) == []


def test_the_pixel_limit_is_a_setting_and_names_the_size(app, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_PIXELS", 1_000_000)
    with pytest.raises(service.UploadRefused) as refused:
        service.check_upload(images_upload(images.jpeg_bytes(1500, 1000), "wide.jpg"))
    message = str(refused.value)
    assert "1,500 × 1,000" in message and "1 megapixels" in message


def test_a_lying_extension_changes_nothing(app, client, login, world):
    login(world.member)
    # A PNG named .jpg is a photo all the same; a web page named .jpg is not.
    r = post_problem(client, world, [(images.png_image_bytes(), "lane.jpg")])
    assert r.status_code == 302
    r = post_problem(
        client, world, [(b"<html><script>alert(1)</script></html>", "lane.jpg")], title="Two"
    )
    assert r.status_code == 200
    assert "“lane.jpg” is not a photo" in r.get_data(as_text=True)
    assert count(Problem) == 1 and count(Attachment) == 1


def test_a_damaged_photo_is_refused_not_a_crash(app):
    truncated = images.jpeg_bytes(400, 300)[:300]
    for data in (b"\xff\xd8\xff\xe0" + b"\x00" * 64, truncated, b"\x89PNG\r\n\x1a\n" + b"\0" * 9):
        with pytest.raises(service.UploadRefused) as refused:
            service.check_upload(images_upload(data, "broken.jpg"))
        assert "“broken.jpg”" in str(refused.value)


def test_the_form_states_the_limits(app, client, login, world):
    login(world.member)
    html = client.get(f"/co/{world.co.id}/problems/new").get_data(as_text=True)
    assert "up to 5 files, 20 MB each" in html and "HEIC" in html
    assert "where and with what they were taken is removed" in html


def test_the_request_limit_follows_the_file_limits(tmp_path, database, monkeypatch):
    monkeypatch.setenv("CONSULT_UPLOAD_MAX_BYTES", "10485760")
    app = make_test_app(database, tmp_path)
    assert app.config["UPLOAD_MAX_BYTES"] == 10 * 1024 * 1024
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 10 * 1024 * 1024 + 1024 * 1024
    with app.app_context():
        db.engine.dispose()


def test_default_limits_take_five_phone_photos(app):
    assert app.config["UPLOAD_MAX_BYTES"] == 20 * 1024 * 1024
    assert app.config["MAX_CONTENT_LENGTH"] >= service.MAX_FILES * 20 * 1024 * 1024


# --- over-limit requests and error pages ----------------------------------------------------


def multipart_over(limit: int) -> dict:
    return {"title": "x", "photos": (io.BytesIO(b"\xff" * (limit + 1)), "big.jpg")}


def test_an_over_limit_upload_gets_the_apps_own_page_even_on_login(
    csrf_app, app, client, login, world, monkeypatch
):
    # Issue #12: "Two 6.4 MB photos ... give a bare 500 even on /login".
    for a in (app, csrf_app):
        monkeypatch.setitem(a.config, "MAX_CONTENT_LENGTH", 100_000)
    strict = csrf_app.test_client()
    r = strict.post("/login", data=multipart_over(100_000), content_type="multipart/form-data")
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "What you sent is too large" in html and "5 files of 20 MB each" in html
    assert "Go to your home page" in html
    # and in a form, logged in: the page, with the navigation, not a crash
    login(world.member)
    r = client.post(
        f"/co/{world.co.id}/problems/new",
        data=problem_form(photos=[(io.BytesIO(b"\xff" * 100_001), "big.jpg")]),
        content_type="multipart/form-data",
    )
    assert r.status_code == 413
    assert "What you sent is too large" in r.get_data(as_text=True)
    assert "Log out" in r.get_data(as_text=True)
    assert count(Problem) == 0


def test_a_file_over_its_limit_within_the_request_reshows_the_form(
    app, client, login, world, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 100_000)
    login(world.member)
    r = post_problem(client, world, [(b"\xff\xd8\xff" + b"\0" * 100_000, "big.jpg")])
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "“big.jpg” is too large" in html and TYPED in html
    assert count(Problem) == 0 and stored_files(app) == []


@pytest.fixture
def failing_app(database, tmp_path, app):
    """An app whose /boom/<code> answers a POST with that error without reading the body."""
    strict = make_test_app(database, tmp_path, MAX_CONTENT_LENGTH=1000, PROPAGATE_EXCEPTIONS=False)

    @strict.post("/boom/<int:code>")
    def boom(code: int):
        if code == 500:
            raise RuntimeError("a bug")
        abort(code)

    yield strict
    with strict.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429, 500, 503])
def test_every_error_page_renders_without_reading_the_body(failing_app, code):
    # The body is over the limit: reading it anywhere (base.html's forms did) would raise 413
    # inside the error handler and end in a bare "Internal Server Error".
    r = failing_app.test_client().post(
        f"/boom/{code}", data=multipart_over(1000), content_type="multipart/form-data"
    )
    assert r.status_code == code
    html = r.get_data(as_text=True)
    assert f"<h1>{code}</h1>" in html and "Go to your home page" in html


# --- storage problems -----------------------------------------------------------------------


def test_unwritable_storage_keeps_the_typing_and_stores_nothing(
    app, client, login, world, tmp_path, monkeypatch
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the uploads folder should be")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(blocker / "uploads"))
    login(world.member)
    r = post_problem(client, world, [(images.jpeg_bytes(), "lane.jpg")])
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "The server cannot keep files just now." in html and TYPED in html
    assert "save without the files" in html
    assert count(Problem) == 0 and count(Attachment) == 0
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.get_json() == {"status": "error", "database": "ok", "storage": "unwritable"}


def test_a_disk_filling_up_half_way_leaves_no_file_behind(app, client, login, world, monkeypatch):
    real_write = storage.LocalStorage.write
    calls = []

    def fill_up_on_third(self, name, data):
        calls.append(name)
        if len(calls) == 3:  # first photo and its thumbnail written, then the disk is full
            raise storage.StorageError(full=True) from OSError(errno.ENOSPC, "full")
        real_write(self, name, data)

    monkeypatch.setattr(storage.LocalStorage, "write", fill_up_on_third)
    login(world.member)
    files = [(images.jpeg_bytes(), "a.jpg"), (images.jpeg_bytes(), "b.jpg")]
    r = post_problem(client, world, files)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "no room left for files" in html and TYPED in html
    assert len(calls) == 3 and stored_files(app) == [] and count(Problem) == 0


def test_a_write_cut_short_removes_the_partial_file(app, tmp_path, monkeypatch):
    box = storage.LocalStorage(str(tmp_path / "box"))

    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    real_open = open

    def open_then_fail(path, mode="r", *args, **kwargs):
        fh = real_open(path, mode, *args, **kwargs)
        if "x" in mode:
            fh.close()  # the file exists now, as after a partial write
            return FullDisk()
        return fh

    monkeypatch.setattr("builtins.open", open_then_fail)
    with pytest.raises(storage.StorageError) as failed:
        box.write("abc.webp", b"data")
    monkeypatch.undo()
    assert failed.value.full
    assert os.listdir(tmp_path / "box") == []


def test_healthz_reports_a_full_storage(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_MIN_FREE_BYTES", 10**18)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.get_json()["storage"] == "full"


def test_files_of_a_form_refused_for_another_reason_are_removed(app, client, login, world):
    login(world.member)
    r = post_problem(client, world, [(images.jpeg_bytes(), "lane.jpg")], title="")
    assert r.status_code == 200 and "please choose them again" in r.get_data(as_text=True)
    assert stored_files(app) == [] and count(Attachment) == 0


# --- clean-uploads -------------------------------------------------------------------------


def test_clean_uploads_removes_old_orphans_and_reports_missing_files(app, runner, world, make):
    problem = make.problem(world.co)
    checked = service.check_uploads([images_upload(images.jpeg_bytes(), "lane.jpg")])
    [kept] = service.store(checked, owner=problem, by=world.member)
    [gone] = service.store(
        service.check_uploads([images_upload(images.jpeg_bytes(), "gone.jpg")]),
        owner=problem,
        by=world.member,
    )
    db.session.commit()
    folder = app.config["UPLOAD_FOLDER"]
    os.remove(os.path.join(folder, gone.stored_name))
    for name, age in (("dead" * 8 + ".webp", timedelta(hours=3)), ("fresh.webp", timedelta())):
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(b"left by a killed process")
        stamp = time.time() - age.total_seconds()
        os.utime(path, (stamp, stamp))

    result = runner.invoke(args=["clean-uploads", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Would remove " + "dead" * 8 + ".webp" in result.output
    assert os.path.exists(os.path.join(folder, "dead" * 8 + ".webp"))

    result = runner.invoke(args=["clean-uploads"])
    assert result.exit_code == 0, result.output
    assert f"Attachment {gone.id}: its file {gone.stored_name} is missing." in result.output
    assert "1 file(s) without an attachment removed; 1 file(s) of attachments missing." in (
        result.output
    )
    left = set(os.listdir(folder))
    assert "dead" * 8 + ".webp" not in left
    assert "fresh.webp" in left  # may belong to a request still running
    assert {kept.stored_name, kept.thumb_name, gone.thumb_name} <= left


# --- lists and threads ----------------------------------------------------------------------


def test_pages_show_sized_lazy_thumbnails_that_open_the_full_photo(app, client, login, world):
    login(world.member)
    r = post_problem(client, world, [(images.jpeg_bytes(1600, 1200), "lane.jpg")])
    [photo] = db.session.scalars(select(Attachment)).all()
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    full = f"/attachments/{photo.id}?v={photo.stored_name[:12]}"
    thumb = f"/attachments/{photo.id}/thumbnail?v={photo.thumb_name[:12]}"
    assert (
        f'<a href="{full}"><img src="{thumb}" width="320" height="240" alt="lane.jpg" '
        f'loading="lazy"></a>'
    ) in html
    # A stored file never changes: with its tag the phone keeps it instead of asking again.
    for url in (full, thumb):
        with client.get(url) as r:
            assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    with client.get(f"/attachments/{photo.id}/thumbnail?v=stale") as r:
        assert r.headers["Cache-Control"] == "private, no-cache"


def test_files_staged_before_a_rollback_are_written_again_when_stored(app, world, make):
    problem = make.problem(world.co)
    db.session.commit()
    assert problem.title  # read again: a transaction is open, as in a view after load()
    staged = service.stage(service.check_uploads([images_upload(images.jpeg_bytes(), "lane.jpg")]))
    db.session.rollback()  # e.g. a retry: the staged files are removed
    assert stored_files(app) == []
    [photo] = service.store(staged, owner=problem, by=world.member)
    db.session.commit()
    assert stored_files(app) == sorted([photo.stored_name, photo.thumb_name])


def test_the_problem_list_shows_each_problems_first_photo_small(app, client, login, world):
    login(world.member)
    post_problem(client, world, [(images.jpeg_bytes(800, 600), "a.jpg")] * 2, title="Drain")
    post_problem(client, world, [], title="No photo")
    first = db.session.scalars(select(Attachment).order_by(Attachment.id)).first()
    html = client.get(f"/co/{world.co.id}/problems").get_data(as_text=True)
    assert html.count('loading="lazy"') == 1
    assert (
        f'<a href="/attachments/{first.id}?v={first.tag}" class="cover"><img '
        f'src="/attachments/{first.id}/thumbnail?v={first.thumb_tag}" width="320" height="240"'
    ) in html


def test_reencode_photos_cleans_photos_stored_before_this_change(
    app, client, login, runner, world, make
):
    problem = make.problem(world.co)
    folder = app.config["UPLOAD_FOLDER"]
    os.makedirs(folder, exist_ok=True)
    rows = []
    for name, data in (
        ("old.jpg", images.jpeg_bytes(2000, 1500, orientation=6)),
        ("broken.jpg", b"\xff\xd8\xff" + b"\0" * 50),
    ):
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)
        rows.append(
            Attachment(
                problem_id=problem.id,
                original_name=name,
                stored_name=name,
                content_type="image/jpeg",
                size_bytes=len(data),
            )
        )
    db.session.add_all(rows)
    db.session.commit()
    old, broken = rows

    result = runner.invoke(args=["reencode-photos"])
    assert result.exit_code == 0, result.output
    assert "1 photo(s) re-encoded; 1 left as they were." in result.output
    assert f"Attachment {broken.id}: left as it is" in result.output
    db.session.expire_all()
    assert old.stored_name != "old.jpg" and (old.width, old.height) == (1200, 1600)
    assert old.content_type == "image/webp" and old.thumb_name
    assert "old.jpg" not in stored_files(app) and "broken.jpg" in stored_files(app)
    login(world.member)
    assert_clean(fetch(client, f"/attachments/{old.id}"))
    assert "0 photo(s) re-encoded" in runner.invoke(args=["reencode-photos"]).output
