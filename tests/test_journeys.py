"""The whole consultation in real browsers, at a phone's width and a desk's: a leader logs a
meeting, records a problem, drafts a proposal and opens the vote; three members vote from
three browsers; the leader closes the vote and submits; the officer counter-offers; the
leader accepts; the officer accepts; staff see the dashboard change.

Every step goes through the pages and their forms, as people would. When a step fails, a
screenshot of every open browser is kept in ``screenshots/journeys/`` (or
``$JOURNEY_SCREENSHOTS``) and the failure names the step.
"""

import contextlib
import os
import re
from pathlib import Path

import pytest

from tests import factories
from tests.live import browser, chromium_missing, serving

pytestmark = pytest.mark.slow

reason = chromium_missing()
if reason and not os.environ.get("CI"):
    pytest.skip(reason, allow_module_level=True)

SHOTS = Path(os.environ.get("JOURNEY_SCREENSHOTS", "screenshots/journeys"))


@pytest.fixture
def live_app(app):
    app.config["SERVER_NAME"] = None  # the browsers reach it as 127.0.0.1:<port>
    yield app
    app.config["SERVER_NAME"] = "localhost"


class Journey:
    """The people's browsers, and the step being played (for the failure's screenshots)."""

    def __init__(self, b, base: str, width: int):
        self.b, self.base, self.width = b, base, width
        self.pages: dict[str, object] = {}
        self.step = "start"

    def person(self, name: str, login: str):
        context = self.b.new_context(viewport={"width": self.width, "height": 800})
        page = context.new_page()
        page.goto(f"{self.base}/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", factories.PASSWORD)
        with page.expect_navigation():
            page.click("form.form button")
        assert "/login" not in page.url, f"{name} could not log in"
        self.pages[name] = page
        return page

    def shoot(self) -> list[Path]:
        SHOTS.mkdir(parents=True, exist_ok=True)
        saved = []
        for name, page in self.pages.items():
            path = SHOTS / f"{self.width}px-{self.step}-{name}.png".replace(" ", "_")
            with contextlib.suppress(Exception):
                page.screenshot(path=str(path), full_page=True)
                saved.append(path)
        return saved


def _submit(page, button_text: str, scope: str = "main") -> None:
    """Press the button labelled ``button_text`` and wait for the next page."""
    button = page.locator(f"{scope} button", has_text=button_text).first
    button.scroll_into_view_if_needed()
    with page.expect_navigation():
        button.click()


def _follow(page, link_text: str) -> None:
    """Follow the link labelled ``link_text`` (an irreversible action's first tap)."""
    link = page.locator("main a", has_text=link_text).first
    link.scroll_into_view_if_needed()
    with page.expect_navigation():
        link.click()


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def _agreed_on_dashboard(page, base: str) -> int:
    page.goto(f"{base}/monitoring/")
    row = page.locator("#h-proposals ~ div table tr", has_text="Agreed").first
    return int(row.locator("td.num").first.inner_text().replace(",", "") or 0)


@pytest.mark.parametrize("width", [360, 1280])
def test_the_consultation_from_meeting_to_agreement(live_app, world, width):
    members = [factories.member(world.co, name=f"Voter {i}") for i in range(1, 4)]
    from consult.extensions import db

    db.session.commit()
    co = world.co.id
    with serving(live_app) as base, browser() as b:
        j = Journey(b, base, width)
        try:
            j.step = "staff-before"
            staff = j.person("staff", world.staff.phone)
            agreed_before = _agreed_on_dashboard(staff, base)

            j.step = "meeting"
            leader = j.person("leader", world.leader.phone)
            leader.goto(f"{base}/co/{co}")
            _fits(leader, width)
            with leader.expect_navigation():
                leader.click("text=Log a meeting")
            leader.fill("input[name=day]", "2026-11-20")
            leader.fill("input[name=time]", "17:30")
            leader.fill("input[name=place]", "Pagoda hall")
            leader.fill("input[name=women_present]", "9")
            leader.fill("input[name=men_present]", "6")
            _fits(leader, width)
            _submit(leader, "Save")
            assert "Pagoda hall" in leader.inner_text("main")

            j.step = "problem"
            leader.goto(f"{base}/co/{co}/problems/new")
            leader.fill("input[name=title]", "Lane floods every rainy season")
            leader.fill("input[name=households_affected]", "45")
            _submit(leader, "Save")
            assert "The problem is recorded." in leader.inner_text("main")

            j.step = "proposal"
            leader.goto(f"{base}/co/{co}")
            with leader.expect_navigation():
                leader.click("text=Draft a proposal")
            leader.fill("input[name=title]", "Concrete lane with a drain")
            leader.fill("input[name=estimated_cost]", "40000000")
            leader.fill("input[name=amount_requested]", "34000000")
            leader.fill("input[name=community_cash]", "2000000")
            leader.fill("input[name=community_labour]", "4000000")
            leader.fill("input[name=households_benefiting]", "60")
            leader.check("text=Lane floods every rainy season")
            _fits(leader, width)
            _submit(leader, "Save")
            proposal_url = leader.url
            assert re.search(r"/proposals/\d+$", proposal_url), proposal_url

            j.step = "open-vote"
            with leader.expect_navigation():
                leader.click("main a:has-text('Open the vote')")
            _submit(leader, "Open the vote")
            assert "Open until" in leader.inner_text("main")

            j.step = "members-vote"
            for i, m in enumerate(members, start=1):
                voter = j.person(f"voter{i}", m.phone)
                voter.goto(proposal_url)
                _fits(voter, width)
                _submit(voter, "Yes", "form.vote-buttons")
                assert voter.locator("form.vote-buttons button[aria-pressed=true]").count() == 1

            j.step = "close-and-submit"
            leader.goto(proposal_url)
            _follow(leader, "Close the vote")  # a second screen asks first
            _submit(leader, "Close the vote")
            assert "Approved" in leader.inner_text("main")
            _follow(leader, "Submit to")
            _submit(leader, "Submit")
            assert "Submitted" in leader.inner_text("main")

            j.step = "counter-offer"
            officer = j.person("officer", world.officer.phone)
            officer.goto(f"{base}/municipalities/{world.municipality.id}/inbox")
            _fits(officer, width)
            with officer.expect_navigation():
                officer.click("text=Concrete lane with a drain")
            officer.fill("#counter-offer input[name=municipal_share]", "30000000")
            officer.fill("#counter-offer input[name=community_cash]", "6000000")
            officer.fill("#counter-offer textarea[name=body]", "We can pay 30 million this year.")
            _submit(officer, "Send the counter-offer", "#counter-offer")
            assert "We can pay 30 million this year." in officer.inner_text("main")

            j.step = "leader-accepts-offer"
            thread_url = officer.url.split("#")[0]
            leader.goto(thread_url)
            _fits(leader, width)
            _submit(leader, "Accept: these terms become a new version")

            j.step = "officer-accepts"
            officer.goto(thread_url)
            _submit(officer, "Accept version 2")
            assert "Agreed" in officer.inner_text("main")

            j.step = "staff-after"
            assert _agreed_on_dashboard(staff, base) == agreed_before + 1
            _fits(staff, width)
        except BaseException as error:
            shots = j.shoot()
            raise AssertionError(
                f"journey at {width} px failed at step {j.step!r}: {error}"
                f"\nscreenshots: {', '.join(map(str, shots)) or 'none'}"
            ) from error
