"""In a real browser: log a meeting, go Back, Save again — one meeting exists, and the page
says the form had already been saved (the form's one-time submission key)."""

import os
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from consult.extensions import db
from consult.meetings.models import Meeting
from tests import factories
from tests.live import CHROMIUM, CHROMIUM_ARGS, chromium_missing, serving

pytestmark = pytest.mark.slow

reason = chromium_missing()
if reason and not os.environ.get("CI"):
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def live_app(app):
    app.config["SERVER_NAME"] = None  # the browser reaches it as 127.0.0.1:<port>
    yield app
    app.config["SERVER_NAME"] = "localhost"


def _meetings() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Meeting.id)))


@contextmanager
def _browser_with_back_forward_cache():
    """Chromium as people use it: Playwright turns the back/forward cache off by default,
    and that cache is what brings a page back, filled in, on Back."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            ignore_default_args=["--disable-back-forward-cache"],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.mark.parametrize("javascript", [False, True])
def test_back_then_save_again_stores_one_meeting(live_app, world, javascript):
    with serving(live_app) as base, _browser_with_back_forward_cache() as b:
        context = b.new_context(
            viewport={"width": 360, "height": 740}, java_script_enabled=javascript
        )
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=login]", world.leader.phone)
        page.fill("input[name=password]", factories.PASSWORD)
        with page.expect_navigation():
            page.click("form.form button")
        page.goto(f"{base}/co/{world.co.id}/meetings/new")
        page.fill("input[name=day]", "2026-11-20")
        page.fill("input[name=time]", "17:30")
        page.fill("input[name=place]", "Pagoda hall")
        page.fill("input[name=women_present]", "9")
        page.fill("input[name=men_present]", "6")
        with page.expect_navigation():
            page.locator("main button", has_text="Save").first.click()
        assert "The meeting is recorded." in page.inner_text("main")
        first_url = page.url
        assert _meetings() == 1

        # The filled form comes back with its hidden key (restored from the back/forward
        # cache, which fires no "load" event).
        page.go_back(wait_until="commit")
        page.wait_for_selector("input[name=place]")
        assert page.input_value("input[name=place]") == "Pagoda hall"
        with page.expect_navigation():
            page.locator("main button", has_text="Save").first.click()

        assert _meetings() == 1
        assert page.url == first_url  # shown the meeting already logged
        assert "This was already saved" in page.inner_text("main")
