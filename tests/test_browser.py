"""The demo in a real browser at phone width: logging in, the CO home, no sideways scrolling."""

import os

import pytest

from consult import demo
from tests.live import browser, chromium_missing, log_in, serving

pytestmark = pytest.mark.slow

reason = chromium_missing()
if reason and not os.environ.get("CI"):
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def demo_app(app, runner):
    runner.invoke(args=["seed-demo"])
    app.config["SERVER_NAME"] = None  # the browser reaches it as 127.0.0.1:<port>
    yield app
    app.config["SERVER_NAME"] = "localhost"


def test_leader_logs_in_on_a_phone_and_sees_the_co_home(demo_app):
    password = demo_app.config["DEMO_PASSWORD"]
    with serving(demo_app) as base, browser() as b:
        page = b.new_page(viewport={"width": 360, "height": 740}, java_script_enabled=False)
        log_in(page, base, "012 000 001", password)
        assert "Boeung Trabek Community Organisation" in page.inner_text("h1")
        assert page.locator("text=Log a meeting").count() == 1
        # Nothing wider than the phone: no sideways scrolling at 360 px.
        page_js = b.new_page(viewport={"width": 360, "height": 740})
        page_js.context.add_cookies(page.context.cookies())
        page_js.goto(page.url)
        assert page_js.evaluate("document.documentElement.scrollWidth") <= 360


def test_wrong_password_is_shown_next_to_the_field(demo_app):
    with serving(demo_app) as base, browser() as b:
        page = b.new_page(viewport={"width": 360, "height": 740}, java_script_enabled=False)
        log_in(page, base, demo.LOGINS[0][1], "wrong")
        assert "Wrong phone number, e-mail or password." in page.inner_text(".field.has-error")


def _phone_pages(app):
    """(login, [paths]) for every role's main screens in the demo."""
    from sqlalchemy import select

    from consult.communities.models import CommunityOrganisation
    from consult.core.enums import ProposalState
    from consult.extensions import db
    from consult.proposals.models import Proposal

    def first(state):
        return db.session.scalar(
            select(Proposal.id).where(Proposal.state == state).order_by(Proposal.id)
        )

    co = db.session.scalar(select(CommunityOrganisation.id).order_by(CommunityOrganisation.id))
    talks, works, voting = (
        first(ProposalState.NEGOTIATING),
        first(ProposalState.IN_PROGRESS),
        first(ProposalState.VOTING),
    )
    return {
        "012 000 001": [
            f"/co/{co}",
            f"/co/{co}/members",
            f"/co/{co}/meetings",
            f"/co/{co}/meetings/new",
            f"/co/{co}/problems",
            f"/co/{co}/problems/new",
            f"/co/{co}/proposals/new",
            f"/co/{co}/priorities",
            f"/proposals/{talks}",
            f"/proposals/{talks}/thread",
            f"/proposals/{voting}",
            f"/proposals/{talks}/audit",
            f"/monitoring/co/{co}",
            "/notifications",
        ],
        "officer@phnompenh.example": [
            "/municipalities/1/inbox",
            f"/proposals/{talks}/thread",
            f"/proposals/{works}/implementation",
            "/monitoring/municipality/1",
        ],
        "staff@consult.example": [
            "/places",
            "/monitoring/",
            "/monitoring/map",
            "/people/invite",
            "/places/municipalities/1",
        ],
        "admin@consult.example": [
            "/admin/",
            "/admin/people",
            "/admin/municipalities",
            "/admin/municipalities/new",
        ],
    }


def test_every_main_screen_fits_a_360_px_phone(demo_app):
    password = demo_app.config["DEMO_PASSWORD"]
    too_wide = []
    with serving(demo_app) as base, browser() as b:
        for login, paths in _phone_pages(demo_app).items():
            context = b.new_context(viewport={"width": 360, "height": 740})
            page = context.new_page()
            log_in(page, base, login, password)
            for path in paths:
                response = page.goto(base + path)
                assert response.status == 200, (login, path, response.status)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > 360:
                    too_wide.append((path, width))
            context.close()
    assert too_wide == []


def test_two_large_phone_photos_upload_at_360_px_and_show_as_thumbnails(demo_app):
    from sqlalchemy import select

    from consult.communities.models import CommunityOrganisation
    from consult.extensions import db
    from tests.images import noisy_jpeg_bytes

    co = db.session.scalar(select(CommunityOrganisation.id).order_by(CommunityOrganisation.id))
    photo = noisy_jpeg_bytes()  # 12 MP, about 7 MB: two of them were over the old limits
    assert len(photo) > 6 * 1024 * 1024
    files = [
        {"name": name, "mimeType": "image/jpeg", "buffer": photo}
        for name in ("IMG_1001.JPG", "IMG_1002.JPG")
    ]
    with serving(demo_app) as base, browser() as b:
        page = b.new_page(viewport={"width": 360, "height": 740})
        log_in(page, base, "012 000 001", demo_app.config["DEMO_PASSWORD"])
        page.goto(f"{base}/co/{co}/problems/new")
        assert "20 MB each" in page.inner_text("form.form")
        page.fill("input[name=title]", "Drain blocked by the market")
        page.set_input_files("input[name=photos]", files)
        with page.expect_navigation():
            page.click("form.form button.primary")
        assert "The problem is recorded." in page.inner_text("main")
        thumbs = page.locator("ul.thumbs img")
        assert thumbs.count() == 2
        for i in range(2):
            thumb = thumbs.nth(i)
            thumb.scroll_into_view_if_needed()
            page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
            )
            assert "/thumbnail" in thumb.get_attribute("src")
            assert int(thumb.get_attribute("height")) == 320  # portrait: the phone was upright
            assert thumb.evaluate("img => img.naturalHeight") == 320
        assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_too_large_photo_is_refused_on_the_phone_before_uploading(demo_app, monkeypatch):
    from sqlalchemy import select

    from consult.communities.models import CommunityOrganisation
    from consult.extensions import db

    monkeypatch.setitem(demo_app.config, "UPLOAD_MAX_BYTES", 100_000)
    co = db.session.scalar(select(CommunityOrganisation.id).order_by(CommunityOrganisation.id))
    big = {"name": "IMG_1003.JPG", "mimeType": "image/jpeg", "buffer": b"\xff" * 200_000}
    with serving(demo_app) as base, browser() as b:
        page = b.new_page(viewport={"width": 360, "height": 740})
        log_in(page, base, "012 000 001", demo_app.config["DEMO_PASSWORD"])
        page.goto(f"{base}/co/{co}/problems/new")
        page.set_input_files("input[name=photos]", [big])
        note = page.locator("#photos-check")
        note.wait_for(state="visible")
        assert "“IMG_1003.JPG” is too large" in note.inner_text()
        assert page.eval_on_selector("input[name=photos]", "i => i.files.length") == 0
