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
