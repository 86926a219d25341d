"""Versions: made by submission and accepted counter-offers, compared side by side, and the
officer accepting exactly the latest one."""

from decimal import Decimal

import pytest
from flask import g

from consult.core.enums import ProposalState
from consult.extensions import db
from consult.negotiation import offers
from consult.proposals.models import ProposalVersion
from consult.proposals.terms import compare_terms


def with_versions(make, world, n=2):
    """A proposal under negotiation with ``n`` versions, the later ones from accepted
    counter-offers (each lowers the municipal share by one million)."""
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    for _ in range(n - 1):
        v = p.latest_version
        m = offers.counter_offer(
            p,
            world.officer,
            municipal_share=v.amount_requested - Decimal("1000000"),
            community_cash=v.community_cash,
            community_labour=v.community_labour,
            timeline=f"{v.number + 3} months",
        )
        offers.accept_counter_offer(p, world.leader, m)
        db.session.refresh(p)
    return p


@pytest.fixture
def as_user(login, client):
    def _as(user):
        g.pop("_login_user", None)
        return login(user)

    return _as


def compare(p, a, b):
    return f"/proposals/{p.id}/versions/compare?a={a}&b={b}"


def test_versions_numbered_and_frozen(world, make):
    p = with_versions(make, world, 3)
    assert [(v.number, v.reason) for v in p.versions] == [
        (1, "submitted"),
        (2, "counter-offer accepted"),
        (3, "counter-offer accepted"),
    ]
    assert [v.amount_requested for v in p.versions] == [
        Decimal("34000000.00"),
        Decimal("33000000.00"),
        Decimal("32000000.00"),
    ]


def test_compare_terms_marks_only_changes(world, make):
    p = with_versions(make, world, 2)
    v1, v2 = p.versions
    rows = {r.name: r for r in compare_terms(v1.terms(), v2.terms())}
    assert rows["amount_requested"].changed and rows["estimated_cost"].changed
    assert rows["timeline"].changed
    assert not rows["community_cash"].changed and not rows["title"].changed


def test_officer_accepts_version_2_while_version_3_is_pending_refused(world, make, client, as_user):
    p = with_versions(make, world, 3)
    v2, v3 = p.versions[1], p.versions[2]
    db.session.commit()
    as_user(world.officer)
    # the officer's form still carries version 2, read before the community accepted v3
    r = client.post(f"/proposals/{p.id}/thread/accept", data={"version_id": v2.id, "note": "ok"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "The terms have changed" in html
    assert f'name="version_id" type="hidden" value="{v3.id}"' in html
    db.session.refresh(p)
    assert p.state == ProposalState.NEGOTIATING
    db.session.refresh(v2)
    assert v2.agreed_at is None
    r = client.post(f"/proposals/{p.id}/thread/accept", data={"version_id": v3.id, "note": ""})
    assert r.status_code == 302
    db.session.refresh(p)
    assert p.state == ProposalState.AGREED
    assert p.versions[2].agreed_by_id == world.officer.id


def test_compare_page_shows_changed_terms(world, make, client, as_user):
    p = with_versions(make, world, 2)
    db.session.commit()
    as_user(world.member)
    r = client.get(compare(p, 1, 2))
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<del>៛34,000,000" in html and "<ins>៛33,000,000" in html
    assert "<del>3 months</del>" in html and "<ins>4 months</ins>" in html
    assert "3 terms changed." in html  # municipal share, estimated cost, timeline
    # the same version twice: nothing changed
    html = client.get(compare(p, 2, 2)).get_data(as_text=True)
    assert "0 terms changed." in html and "<del>" not in html


def test_compare_defaults_and_missing_versions(world, make, client, as_user):
    p = with_versions(make, world, 2)
    db.session.commit()
    as_user(world.officer)
    html = client.get(f"/proposals/{p.id}/versions/compare").get_data(as_text=True)
    assert "Version 1" in html and "Version 2" in html
    assert client.get(compare(p, 1, 9)).status_code == 404
    assert client.get(compare(p, "x", 2)).status_code == 200  # junk falls back to a default


def test_compare_refused_to_others(world, make, client, as_user):
    p = with_versions(make, world, 2)
    db.session.commit()
    for outsider in (world.other_member, world.other_officer, world.outsider):
        as_user(outsider)
        assert client.get(compare(p, 1, 2)).status_code == 403


def test_thread_links_to_the_comparison(world, make, client, as_user):
    p = with_versions(make, world, 2)
    db.session.commit()
    as_user(world.leader)
    html = client.get(f"/proposals/{p.id}/thread").get_data(as_text=True)
    assert f"/proposals/{p.id}/versions/compare?a=1&amp;b=2" in html


def test_version_list_links_compare_and_dossier_in_the_readers_language(client, world, login):
    from consult.core.enums import ProposalState
    from consult.extensions import db
    from consult.proposals.models import ProposalVersion
    from tests import factories

    p = factories.proposal(world.co, state=ProposalState.NEGOTIATING)
    for n, reason in ((1, "submitted"), (2, "counter-offer accepted")):
        db.session.add(ProposalVersion(proposal=p, number=n, reason=reason, **p.terms()))
    login(world.member)
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert f"/proposals/{p.id}/versions/compare?a=1&amp;b=2" in page
    assert f"/proposals/{p.id}/versions/2/dossier" in page
    client.post("/language", data={"lang": "km", "next": "/"})
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "បានទទួលយកសំណើតប" in page  # "counter-offer accepted", stored as a code
