"""axe-core (from npm, see package.json) run in Chromium on every main page of each role, in
English and in Khmer: no serious or critical violation. And the member's first screen on a
360 px phone: the open vote with its buttons and the points to give, without scrolling."""

import os
from pathlib import Path

import pytest

from tests.live import browser, chromium_missing, log_in, serving

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"

reason = chromium_missing() or (
    None if AXE.exists() else f"axe-core is not installed ({AXE}): run `npm ci`"
)
if reason and not os.environ.get("CI"):
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture
def demo_app(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    app.config["SERVER_NAME"] = None  # the browser reaches it as 127.0.0.1:<port>
    yield app
    app.config["SERVER_NAME"] = "localhost"


def main_pages(app) -> dict[str | None, list[str]]:
    """login (None: nobody) → the main screens of that role in the demo."""
    from sqlalchemy import select

    from consult.communities.models import CommunityOrganisation
    from consult.core.enums import ProposalState
    from consult.extensions import db
    from consult.problems.models import PriorityRound, Problem
    from consult.proposals.models import Proposal

    with app.app_context():

        def first(model, *where):
            return db.session.scalar(select(model.id).where(*where).order_by(model.id))

        co = first(CommunityOrganisation)
        talks = first(Proposal, Proposal.state == ProposalState.NEGOTIATING)
        works = first(Proposal, Proposal.state == ProposalState.IN_PROGRESS)
        voting = first(Proposal, Proposal.state == ProposalState.VOTING)
        problem = first(Problem, Problem.co_id == co)
        rnd = first(PriorityRound, PriorityRound.co_id == co)
    member = [
        f"/co/{co}",
        f"/proposals/{voting}",
        f"/proposals/{talks}",
        f"/proposals/{talks}/thread",
        f"/co/{co}/problems",
        f"/problems/{problem}",
        f"/co/{co}/priorities",
        "/notifications",
    ]
    if rnd:
        member.append(f"/priorities/{rnd}")
    return {
        None: ["/", "/login"],
        "012 000 002": member,
        "012 000 001": [
            f"/co/{co}",
            f"/co/{co}/members",
            f"/co/{co}/meetings",
            f"/co/{co}/meetings/new",
            f"/co/{co}/problems/new",
            f"/co/{co}/proposals/new",
            f"/proposals/{voting}",
            f"/proposals/{talks}/thread",
            f"/proposals/{talks}/audit",
            f"/monitoring/co/{co}",
        ],
        "officer@phnompenh.example": [
            "/municipalities/1/inbox",
            f"/proposals/{talks}/thread",
            f"/proposals/{works}/implementation",
            "/monitoring/municipality/1",
        ],
        "staff@consult.example": [
            "/monitoring/",
            "/places",
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


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page, one line each."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {', '.join(str(n['target']) for n in v['nodes'][:3])}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("lang", ["en", "km"])
def test_no_serious_accessibility_violation_on_any_main_page(demo_app, lang):
    password = demo_app.config["DEMO_PASSWORD"]
    found = {}
    with serving(demo_app) as base, browser() as b:
        for login, paths in main_pages(demo_app).items():
            # axe-core is injected as an inline script, which the pages' CSP rightly refuses
            context = b.new_context(
                viewport={"width": 360, "height": 740},
                extra_http_headers={"Accept-Language": lang},
                bypass_csp=True,
            )
            page = context.new_page()
            if login:
                log_in(page, base, login, password)
                page.click(f"footer button[name=lang][value={lang}]")  # the reader's choice
                page.wait_for_load_state("load")
            for path in paths:
                response = page.goto(base + path)
                assert response.status == 200, (login, path, response.status)
                assert page.evaluate("document.documentElement.lang") == lang, path
                if problems := serious_violations(page):
                    found[(login, path)] = problems
            context.close()
    assert found == {}, "\n".join(f"{who} {path}: {v}" for (who, path), v in found.items())


def test_member_first_screen_shows_the_vote_and_the_points_and_voting_works(demo_app):
    """360 × 640, Khmer, no scrolling: the open vote with Yes/No/Abstain and "give your
    points" are on the first screen; a tap on Yes casts the vote and comes back."""
    password = demo_app.config["DEMO_PASSWORD"]
    with serving(demo_app) as base, browser() as b:
        context = b.new_context(
            viewport={"width": 360, "height": 640}, extra_http_headers={"Accept-Language": "km"}
        )
        page = context.new_page()
        log_in(page, base, "012 000 002", password)
        page.click("footer button[name=lang][value=km]")
        page.wait_for_load_state("load")
        assert page.evaluate("window.scrollY") == 0

        def on_first_screen(locator) -> bool:
            box = locator.bounding_box()
            return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 640

        needs = page.locator("#needs")
        vote = needs.locator(".need-vote").first
        yes = vote.locator("button[value=yes]")
        for button in ("yes", "no", "abstain"):
            assert on_first_screen(vote.locator(f"button[value={button}]")), button
        assert on_first_screen(needs.locator(".need-points a").first)
        home = page.url
        votes_before = page.locator("#needs .need-vote").count()
        yes.click()
        page.wait_for_load_state("load")
        assert page.url.split("#")[0] == home.split("#")[0]
        assert page.locator(".flash-success").count() == 1
        # that vote no longer waits; the points still do
        assert page.locator("#needs .need-vote").count() == votes_before - 1
        assert page.locator("#needs .need-points").count() == 1
        context.close()


def test_wide_tables_fit_a_phone_without_losing_columns(demo_app):
    """At 360 px the members' actions and the priority ranking's score are on screen, not
    cut off behind a sideways scroll."""
    password = demo_app.config["DEMO_PASSWORD"]
    pages = main_pages(demo_app)["012 000 002"]
    ranking = next(p for p in pages if p.startswith("/priorities/"))
    with serving(demo_app) as base, browser() as b:
        page = b.new_page(viewport={"width": 360, "height": 740})
        log_in(page, base, "012 000 001", password)
        for path, selector in ((pages[0] + "/members", "form button"), (ranking, "td >> strong")):
            page.goto(base + path)
            cell = page.locator(f"table {selector}").first
            box = cell.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 360, (path, box)
