"""Monitoring: every indicator's value on a known programme, per filter; CSV exports; charts;
the scope summaries and who may see them; a fixed number of SQL statements per page."""

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask import g
from sqlalchemy import event

from consult.core.enums import (
    Gender,
    InfrastructureType,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
    VoteChoice,
)
from consult.extensions import db
from consult.monitoring import lists, service
from consult.monitoring.exports import cell
from consult.monitoring.scope import Scope
from consult.votes.models import Vote, VoteRound, VoteTally
from consult.votes.service import fill_roll
from tests import factories as f
from tests.helpers import csrf_token

Y2025 = (date(2025, 1, 1), date(2025, 12, 31))
KHMER = "ផ្លូវលិចទឹក"  # "flooded lane"
S = ProposalState


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def _proposal(co, state, created, **kw):
    p = f.proposal(co, state, **kw)
    p.created_at = created
    db.session.flush()
    return p


def build_programme() -> SimpleNamespace:
    """Three municipalities in two countries, four COs, and activity in 2024 and 2025.

    The expected values in the tests below are worked out by hand from this data.
    """
    pp = f.municipality(
        name="Phnom Penh", country="KH", currency="KHR", annual_target_settlements=10
    )
    bb = f.municipality(
        name="Battambang", country="KH", currency="KHR", annual_target_settlements=5
    )
    qc = f.municipality(
        name="Quezon City",
        country="PH",
        currency="PHP",
        timezone="Asia/Manila",
        response_target_days=7,
        annual_target_settlements=4,
    )
    s1 = f.settlement(pp, name="Boeung Kak", latitude=11.58, longitude=104.91)
    s2 = f.settlement(pp, name="Tonle Bassac")
    s3 = f.settlement(bb, name="Prek Preah Sdach")
    s4 = f.settlement(qc, name="Payatas", latitude=14.71, longitude=121.11)
    co_a1 = f.co(s1, name="Boeung Kak CO", formed_on=date(2025, 3, 1))
    co_a2 = f.co(s2, name="Tonle Bassac CO", formed_on=date(2024, 6, 1))
    co_b = f.co(s3, name="Prek Preah Sdach CO", formed_on=date(2025, 5, 5))
    co_q = f.co(s4, name="Payatas CO", formed_on=date(2025, 2, 2))

    f.meeting(co_a1, held_at=at(2025, 2, 10), women_present=12, men_present=8, other_present=0)
    f.meeting(
        co_a1, held_at=at(2025, 12, 31, 23, 30), women_present=5, men_present=5, other_present=1
    )
    f.meeting(co_a1, held_at=at(2024, 12, 31, 23, 59), women_present=100, men_present=0)
    f.meeting(co_b, held_at=at(2025, 6, 1), women_present=3, men_present=1, other_present=0)
    f.meeting(co_q, held_at=at(2025, 7, 1), women_present=10, men_present=10, other_present=2)

    def problem(co, category, status, created, **kw):
        p = f.problem(co, category=category, status=status, **kw)
        p.created_at = created
        return p

    problem(co_a1, ProblemCategory.DRAINAGE, ProblemStatus.OPEN, at(2025, 3, 1), title=KHMER)
    problem(co_a1, ProblemCategory.DRAINAGE, ProblemStatus.ADDRESSED, at(2025, 3, 2))
    problem(co_a1, ProblemCategory.WATER, ProblemStatus.RESOLVED, at(2025, 4, 1))
    problem(co_a2, ProblemCategory.SANITATION, ProblemStatus.OPEN, at(2024, 5, 1))
    problem(
        co_q, ProblemCategory.LANES, ProblemStatus.CLOSED, at(2025, 8, 1), title='=HYPERLINK("x")'
    )

    p1 = _proposal(
        co_a1,
        S.COMPLETED,
        at(2025, 1, 10),
        title="Footbridge " + KHMER,
        infrastructure_type=InfrastructureType.FOOTBRIDGE,
        submitted_at=at(2025, 1, 20, 10),
        first_response_at=at(2025, 1, 23, 10),  # 3 days
        agreed_at=at(2025, 2, 1),
        completed_on=date(2025, 6, 30),
        households_benefiting=60,
        households_benefited=80,
        amount_requested=Decimal("34000000"),
        community_cash=Decimal("2000000"),
        community_labour=Decimal("4000000"),
    )
    _proposal(
        co_a1,
        S.IN_PROGRESS,
        at(2025, 2, 1),
        infrastructure_type=InfrastructureType.DRAINAGE,
        submitted_at=at(2025, 2, 5),
        first_response_at=at(2025, 2, 15),  # 10 days
        agreed_at=at(2025, 3, 1),
        amount_requested=Decimal("10000000"),
        community_cash=Decimal("1000000"),
        community_labour=Decimal("500000"),
    )
    _proposal(  # completed in 2025, everything else in 2024
        co_a2,
        S.COMPLETED,
        at(2024, 3, 1),
        submitted_at=at(2024, 3, 5),
        first_response_at=at(2024, 3, 25),
        agreed_at=at(2024, 4, 1),
        completed_on=date(2025, 1, 15),
        households_benefiting=50,
        households_benefited=None,
        amount_requested=Decimal("20000000"),
        community_cash=Decimal("0"),
        community_labour=Decimal("3000000"),
    )
    _proposal(co_a1, S.SUBMITTED, at(2025, 9, 1), submitted_at=at(2025, 9, 2))  # unanswered
    _proposal(
        co_a1,
        S.DECLINED,
        at(2025, 4, 1),
        submitted_at=at(2025, 4, 1),
        first_response_at=at(2025, 4, 21),  # 20 days: late
    )
    _proposal(co_a1, S.DRAFT, at(2025, 5, 1))
    p7 = _proposal(
        co_q,
        S.COMPLETED,
        at(2025, 1, 5),
        infrastructure_type=InfrastructureType.TOILETS,
        submitted_at=at(2025, 1, 6),
        first_response_at=at(2025, 1, 13),  # 7 days: exactly on target
        agreed_at=at(2025, 1, 20),
        completed_on=date(2025, 10, 1),
        households_benefited=30,
        currency="PHP",
        amount_requested=Decimal("500000.00"),
        community_cash=Decimal("10000.50"),
        community_labour=Decimal("20000.25"),
    )
    p8 = _proposal(co_b, S.VOTING, at(2025, 6, 10))
    _proposal(co_q, S.WITHDRAWN, at(2025, 3, 3))

    woman = f.member(co_b, gender=Gender.WOMAN)
    man = f.member(co_b, gender=Gender.MAN)
    rnd = VoteRound(
        proposal=p8,
        opened_at=at(2025, 6, 10),
        closes_at=at(2025, 6, 20),
        quorum_percent=50,
        threshold_percent=50,
        yes_count=5,
        no_count=2,
        abstain_count=0,
    )
    db.session.add(rnd)
    db.session.flush()
    fill_roll(rnd, co_b.id)  # the electorate: the CO's members when the vote opened
    for user, choice in ((woman, VoteChoice.YES), (man, VoteChoice.NO)):
        db.session.add(
            Vote(
                round=rnd,
                membership_id=user.membership_in(co_b.id).id,
                choice=choice,
                cast_at=at(2025, 6, 11),
            )
        )
    tally_meeting = f.meeting(co_b, held_at=at(2024, 6, 12), women_present=0, men_present=0)
    tally = VoteTally(round=rnd, meeting_id=tally_meeting.id, yes_women=4, yes_men=2, no_other=1)
    tally.created_at = at(2025, 6, 12)
    db.session.add(tally)

    staff = f.staff()
    leader_a1 = f.leader(co_a1)
    leader_b = f.leader(co_b)
    officer_pp = f.officer(pp)
    officer_qc = f.officer(qc)
    db.session.commit()
    return SimpleNamespace(**locals())


@pytest.fixture
def prog(app):
    return build_programme()


def fresh() -> None:
    """Forget what this test's shared app context remembers between requests (the logged-in
    user, loaded objects), so the next request loads like a new one."""
    g.pop("_login_user", None)
    db.session.expire_all()


@pytest.fixture
def as_user(login):
    def _as(user):
        fresh()
        return login(user)

    return _as


def scope(**kw) -> Scope:
    start, end = kw.pop("period", Y2025)
    return Scope(start, end, **kw)


# --- service: each indicator, per filter ----------------------------------------------------


def test_cos_formed_per_filter(prog):
    assert service.cos_formed(scope()) == 3
    assert service.cos_formed(scope(municipality_id=prog.pp.id)) == 1
    assert service.cos_formed(scope(country="KH")) == 2
    assert service.cos_formed(scope(country="PH")) == 1
    assert service.cos_formed(scope(co_id=prog.co_a2.id)) == 0
    assert service.cos_formed(scope(period=(date(2024, 1, 1), date(2024, 12, 31)))) == 1
    assert service.cos_formed(scope(period=(date(2025, 3, 1), date(2025, 5, 5)))) == 2


def test_meetings_and_attendance_per_filter(prog):
    a = service.attendance(scope())
    assert (a.meetings, a.women, a.men, a.other, a.people) == (4, 30, 24, 3, 57)
    a = service.attendance(scope(municipality_id=prog.pp.id))
    assert (a.meetings, a.women, a.men, a.other) == (2, 17, 13, 1)
    a = service.attendance(scope(country="KH"))
    assert (a.meetings, a.women, a.men, a.other) == (3, 20, 14, 1)
    a = service.attendance(scope(country="PH"))
    assert (a.meetings, a.women, a.men, a.other) == (1, 10, 10, 2)
    # the last day of the period is included, the day before the first is not
    a = service.attendance(scope(period=(date(2024, 12, 31), date(2024, 12, 31))))
    assert (a.meetings, a.women) == (1, 100)
    a = service.attendance(scope(co_id=prog.co_b.id, period=(date(2025, 6, 1), date(2025, 6, 1))))
    assert (a.meetings, a.women, a.men) == (1, 3, 1)


def test_votes_by_gender(prog):
    assert service.votes_by_gender(scope()) == {Gender.WOMAN: 5, Gender.MAN: 3, Gender.OTHER: 1}
    assert service.votes_by_gender(scope(country="PH")) == {g: 0 for g in Gender}
    assert service.votes_by_gender(scope(municipality_id=prog.bb.id))[Gender.WOMAN] == 5


def test_problems_by_category_and_status(prog):
    rows = {r.category: r for r in service.problems(scope())}
    assert len(rows) == len(ProblemCategory)  # every category, zeros included
    assert rows[ProblemCategory.DRAINAGE].by_status[ProblemStatus.OPEN] == 1
    assert rows[ProblemCategory.DRAINAGE].by_status[ProblemStatus.ADDRESSED] == 1
    assert rows[ProblemCategory.WATER].by_status[ProblemStatus.RESOLVED] == 1
    assert rows[ProblemCategory.LANES].by_status[ProblemStatus.CLOSED] == 1
    assert rows[ProblemCategory.SANITATION].total == 0  # 2024
    assert sum(r.total for r in rows.values()) == 4
    assert sum(r.total for r in service.problems(scope(municipality_id=prog.pp.id))) == 3
    assert sum(r.total for r in service.problems(scope(country="PH"))) == 1
    whole = (date(2024, 1, 1), date(2025, 12, 31))
    assert sum(r.total for r in service.problems(scope(period=whole))) == 5


def test_proposals_by_state_and_funnel(prog):
    rows = {r.state: r for r in service.proposals_by_state(scope())}
    counts = {s: r.count for s, r in rows.items() if r.count}
    assert counts == {
        S.DRAFT: 1,
        S.VOTING: 1,
        S.SUBMITTED: 1,
        S.IN_PROGRESS: 1,
        S.COMPLETED: 2,
        S.DECLINED: 1,
        S.WITHDRAWN: 1,
    }
    assert [r.state for r in service.proposals_by_state(scope())][0] == S.DRAFT
    reached = {s: r.reached for s, r in rows.items()}
    assert reached[S.DRAFT] == 6
    assert reached[S.VOTING] == 5
    assert reached[S.SUBMITTED] == 4
    assert reached[S.AGREED] == 3
    assert reached[S.COMPLETED] == 2
    assert reached[S.DECLINED] is None
    pp = {r.state: r.count for r in service.proposals_by_state(scope(municipality_id=prog.pp.id))}
    assert sum(pp.values()) == 5 and pp[S.COMPLETED] == 1
    ph = {r.state: r.count for r in service.proposals_by_state(scope(country="PH"))}
    assert sum(ph.values()) == 2 and ph[S.WITHDRAWN] == 1


def test_response_times_median_and_target(prog):
    rows = {r.name: r for r in service.response_times(scope())}
    assert set(rows) == {"Phnom Penh", "Quezon City"}  # nothing submitted in Battambang
    pp = rows["Phnom Penh"]
    # submitted 4 (3, 10 and 20 days, one unanswered): median of answered = 10
    assert (pp.submitted, pp.answered, pp.median_days, pp.within_target) == (4, 3, 10.0, 2)
    assert pp.share_within == 0.5
    qc = rows["Quezon City"]
    assert (qc.submitted, qc.answered, qc.median_days, qc.within_target) == (1, 1, 7.0, 1)
    # an even number of answers: the mean of the middle two (3 and 10 days)
    first_half = scope(period=(date(2025, 1, 1), date(2025, 2, 28)), municipality_id=prog.pp.id)
    (row,) = service.response_times(first_half)
    assert (row.submitted, row.median_days, row.within_target) == (2, 6.5, 2)
    assert service.response_times(scope(country="PH"))[0].name == "Quezon City"
    assert service.response_times(scope(co_id=prog.co_a2.id)) == []


def test_funding_per_currency(prog):
    rows = {r.currency: r for r in service.funding(scope())}
    assert set(rows) == {"KHR", "PHP"}  # never added together
    assert rows["KHR"].proposals == 2
    assert rows["KHR"].municipal == Decimal("44000000.00")
    assert rows["KHR"].community == Decimal("7500000.00")
    assert rows["PHP"].municipal == Decimal("500000.00")
    assert rows["PHP"].community == Decimal("30000.75")
    assert [r.currency for r in service.funding(scope(country="KH"))] == ["KHR"]
    older = service.funding(scope(period=(date(2024, 1, 1), date(2024, 12, 31))))
    assert [(r.currency, r.municipal, r.community) for r in older] == [
        ("KHR", Decimal("20000000.00"), Decimal("3000000.00"))
    ]


def test_infrastructure_and_families(prog):
    rows = {r.type: r for r in service.infrastructure(scope())}
    assert {t: (r.completed, r.families, r.estimated) for t, r in rows.items()} == {
        InfrastructureType.FOOTBRIDGE: (1, 80, 0),  # actual figure
        InfrastructureType.CONCRETE_LANE: (1, 50, 1),  # planned figure, none recorded
        InfrastructureType.TOILETS: (1, 30, 0),
    }
    ind = service.indicators(scope())
    assert (ind.infrastructure_completed, ind.families_benefited) == (3, 160)
    pp = service.indicators(scope(municipality_id=prog.pp.id))
    assert (pp.infrastructure_completed, pp.families_benefited) == (2, 130)


def test_settlements_improved_against_target(prog):
    (row,) = service.settlements_improved(scope())
    assert (row.year, row.improved, row.target) == (2025, 3, 19)
    (row,) = service.settlements_improved(scope(country="KH"))
    assert (row.improved, row.target) == (2, 15)
    (row,) = service.settlements_improved(scope(municipality_id=prog.pp.id))
    assert (row.improved, row.target) == (2, 10)
    (row,) = service.settlements_improved(scope(co_id=prog.co_q.id))
    assert (row.improved, row.target) == (1, None)
    two_years = service.settlements_improved(scope(period=(date(2024, 1, 1), date(2025, 12, 31))))
    assert [(r.year, r.improved, r.target) for r in two_years] == [(2024, 0, 19), (2025, 3, 19)]


def test_raw_lists_follow_the_filters(prog):
    assert len(list(lists.meetings_list(scope()))) == 4
    assert len(list(lists.meetings_list(scope(country="PH")))) == 1
    titles = [row[4] for row in lists.problems_list(scope(municipality_id=prog.pp.id))]
    assert KHMER in titles and len(titles) == 3
    assert len(list(lists.proposals_list(scope()))) == 8
    (vote_round,) = list(lists.votes_list(scope()))
    assert vote_round[9:12] == (5, 2, 0)


def test_map_points(prog):
    points, total = service.map_points(scope(), limit=50)
    assert total == 2 + 7  # two located settlements; 2025 proposals of their COs (5 + 2)
    assert {p.kind for p in points} == {"settlement", "proposal"}
    points, total = service.map_points(scope(country="PH"), limit=1)
    assert total == 3 and len(points) == 2  # one of each kind shown


def test_csv_cell_guards_formulas():
    assert cell("=SUM(A1)") == "'=SUM(A1)"
    assert cell("+1") == "'+1" and cell("-1") == "'-1" and cell("@x") == "'@x"
    assert cell(KHMER) == KHMER
    assert cell(-5) == -5 and cell(Decimal("-1.50")) == "-1.50"
    assert cell(S.DRAFT) == "draft" and cell(None) == ""


# --- routes ---------------------------------------------------------------------------------

YEAR_ARGS = {"period": "custom", "start": "2025-01-01", "end": "2025-12-31"}


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_dashboard_shows_indicators_charts_and_tables(prog, client, as_user):
    as_user(prog.staff)
    r = client.get("/monitoring/", query_string={**YEAR_ARGS, "area": f"municipality:{prog.pp.id}"})
    assert r.status_code == 200
    html = r.data.decode()
    assert html.count("<svg") >= 5 and "<script" not in html
    assert 'role="img"' in html
    # the settlements chart is followed by its table with the same numbers
    section = html.split('id="h-settlements"')[1]
    assert section.index("<svg") < section.index("<table")
    assert "<td>2025</td>" in section and '<td class="num">2</td>' in section
    assert '<td class="num">10</td>' in section  # target
    assert "Median days to first response" in html and "Phnom Penh" in html
    assert "How these numbers are counted" in html
    assert "/monitoring/export/proposals-list.csv" in html
    # each indicator table offers its CSV, with the page's filters
    assert "/monitoring/export/funding.csv?period=custom&amp;start=2025-01-01&amp;" in html
    assert f'end=2025-12-31&amp;area=municipality:{prog.pp.id}"' in html


def test_dashboard_default_filters_and_country(prog, client, as_user):
    as_user(prog.staff)
    assert client.get("/monitoring/").status_code == 200
    r = client.get("/monitoring/", query_string={**YEAR_ARGS, "area": "country:PH"})
    assert r.status_code == 200 and "Quezon City" in r.data.decode()


@pytest.mark.parametrize(
    "args",
    [
        {"period": "custom", "start": "2025-13-45", "end": "2025-12-31"},
        {"period": "custom", "start": "2025-06-01", "end": "2025-01-01"},
        {"period": "custom", "start": "", "end": "2025-01-01"},
        {"period": "forever"},
        {"area": "municipality:99999"},
    ],
)
def test_bad_filters_give_field_errors(prog, client, as_user, args):
    as_user(prog.staff)
    r = client.get("/monitoring/", query_string=args)
    assert r.status_code == 200
    assert b'class="error"' in r.data
    assert b"At a glance" not in r.data
    assert client.get("/monitoring/export/headline.csv", query_string=args).status_code == 400


def test_hostile_names_are_escaped_in_charts_and_tables(prog, client, as_user):
    prog.qc.name = '<script>alert("x")</script>'
    db.session.commit()
    as_user(prog.staff)
    r = client.get("/monitoring/", query_string=YEAR_ARGS)
    assert r.status_code == 200
    assert b"<script>alert" not in r.data
    assert b"&lt;script&gt;alert" in r.data


def test_csv_indicator_table_with_filters(prog, client, as_user):
    as_user(prog.staff)
    r = client.get(
        "/monitoring/export/funding.csv",
        buffered=True,
        query_string={**YEAR_ARGS, "area": "country:KH"},
    )
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="consult-funding-2025-01-01-2025-12-31.csv"' in r.headers["Content-Disposition"]
    )
    rows = _csv(r)
    assert rows == [
        ["Currency", "Proposals", "Municipal share", "Community share"],
        ["KHR", "2", "44000000.00", "7500000.00"],
    ]
    headline = dict(
        _csv(client.get("/monitoring/export/headline.csv", buffered=True, query_string=YEAR_ARGS))
    )
    assert headline["COs formed"] == "3" and headline["Families benefited"] == "160"
    assert headline["Settlements improved in 2025"] == "3"


def test_csv_raw_list_keeps_khmer_and_guards_formulas(prog, client, as_user):
    as_user(prog.staff)
    r = client.get("/monitoring/export/problems-list.csv", buffered=True, query_string=YEAR_ARGS)
    assert r.status_code == 200
    rows = _csv(r)
    assert rows[0][:5] == ["problem_id", "country", "municipality", "co", "title"]
    titles = [row[4] for row in rows[1:]]
    assert KHMER in titles
    assert '\'=HYPERLINK("x")' in titles
    assert len(rows) == 1 + 4
    only_pp = _csv(
        client.get(
            "/monitoring/export/problems-list.csv",
            buffered=True,
            query_string={**YEAR_ARGS, "area": f"municipality:{prog.pp.id}"},
        )
    )
    assert {row[2] for row in only_pp[1:]} == {"Phnom Penh"}
    proposals = _csv(
        client.get("/monitoring/export/proposals-list.csv", buffered=True, query_string=YEAR_ARGS)
    )
    assert any(row[4] == "Footbridge " + KHMER for row in proposals[1:])
    assert client.get("/monitoring/export/nothing.csv").status_code == 404


def test_map_page_lists_the_points(prog, client, as_user):
    as_user(prog.staff)
    r = client.get("/monitoring/map", query_string=YEAR_ARGS)
    assert r.status_code == 200
    html = r.data.decode()
    assert "<svg" in html and "Payatas" in html and "Boeung Kak" in html
    assert "Footbridge " + KHMER in html


def test_co_summary_for_members_and_staff_only(prog, client, as_user):
    as_user(prog.leader_a1)
    r = client.get(f"/monitoring/co/{prog.co_a1.id}", query_string=YEAR_ARGS)
    assert r.status_code == 200
    assert "Boeung Kak CO" in r.data.decode()
    assert "/monitoring/export/" not in r.data.decode()  # staff exports are not offered
    assert client.get(f"/monitoring/co/{prog.co_b.id}").status_code == 403
    assert client.get(f"/monitoring/municipality/{prog.pp.id}").status_code == 403
    assert client.get("/monitoring/").status_code == 403
    assert client.get("/monitoring/export/headline.csv").status_code == 403
    assert client.get("/monitoring/map").status_code == 403
    as_user(prog.staff)
    assert client.get(f"/monitoring/co/{prog.co_b.id}").status_code == 200
    assert client.get("/monitoring/co/99999").status_code == 404


def test_municipality_summary_for_its_officers_and_staff_only(prog, client, as_user):
    as_user(prog.officer_pp)
    r = client.get(f"/monitoring/municipality/{prog.pp.id}", query_string=YEAR_ARGS)
    assert r.status_code == 200
    html = r.data.decode()
    assert "Phnom Penh" in html and "Quezon City" not in html
    assert client.get(f"/monitoring/municipality/{prog.qc.id}").status_code == 403
    assert client.get("/monitoring/").status_code == 403
    as_user(prog.officer_qc)
    assert client.get(f"/monitoring/municipality/{prog.pp.id}").status_code == 403
    as_user(prog.leader_b)
    assert client.get(f"/monitoring/municipality/{prog.bb.id}").status_code == 403


def test_summary_numbers_are_the_scope_s_own(prog, client, as_user):
    as_user(prog.leader_b)
    r = client.get(f"/monitoring/co/{prog.co_b.id}", query_string=YEAR_ARGS)
    html = r.data.decode()
    # Prek Preah Sdach CO: one meeting (3 women, 1 man), no settlements target
    section = html.split('id="h-attendance"')[1].split("</table>")[0]
    assert '<td class="num">1</td><td class="num">3</td><td class="num">1</td>' in section


def test_anonymous_is_sent_to_log_in(prog, client):
    r = client.get("/monitoring/")
    assert r.status_code in (302, 401)


def test_filters_work_with_csrf_on(prog, csrf_app, login):
    """The filter form is a GET form: it carries no token and needs none."""
    client = csrf_app.test_client()
    fresh()
    login(prog.staff, client)
    r = client.get("/monitoring/", query_string=YEAR_ARGS)
    assert r.status_code == 200 and b"At a glance" in r.data
    # the page's other forms (language, log out) still carry their token
    assert csrf_token(r.data)


# --- a fixed number of SQL statements -------------------------------------------------------


def _count_statements(client, url, query_string) -> int:
    fresh()  # as in production: each request starts with an empty session
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url, query_string=query_string)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200
    return len(seen)


def _grow(prog, n: int) -> None:
    for i in range(n):
        m = f.municipality(country="TH" if i % 2 else "KH", currency="THB")
        co = f.co(f.settlement(m, latitude=13.7, longitude=100.5), formed_on=date(2025, 4, 1))
        f.meeting(co, held_at=at(2025, 5, 1))
        f.problem(co).created_at = at(2025, 5, 2)
        p = _proposal(
            co,
            S.COMPLETED,
            at(2025, 5, 3),
            submitted_at=at(2025, 5, 3),
            first_response_at=at(2025, 5, 6),
            agreed_at=at(2025, 5, 7),
            completed_on=date(2025, 8, 1),
        )
        p.infrastructure_type = list(InfrastructureType)[i % len(InfrastructureType)]
    db.session.commit()


@pytest.mark.parametrize(
    "url", ["/monitoring/", "/monitoring/co/{co}", "/monitoring/municipality/{m}"]
)
def test_statement_count_does_not_grow_with_data(prog, client, as_user, url):
    url = url.format(co=prog.co_a1.id, m=prog.pp.id)
    as_user(prog.staff)
    small = _count_statements(client, url, YEAR_ARGS)
    _grow(prog, 12)
    large = _count_statements(client, url, YEAR_ARGS)
    assert small == large
    assert small <= 25


def test_dashboard_link_in_the_menu_for_staff_only(prog, client, as_user):
    as_user(prog.staff)
    assert b'href="/monitoring/"' in client.get(f"/monitoring/co/{prog.co_a1.id}").data
    as_user(prog.leader_a1)
    assert b'href="/monitoring/"' not in client.get(f"/monitoring/co/{prog.co_a1.id}").data


def test_count_charts_have_whole_number_ticks():
    from consult.monitoring.charts import _whole_number_axis

    assert _whole_number_axis({"Problems": [1, 2, 0]}) == {"y_labels": [0, 1, 2]}
    assert _whole_number_axis({"Votes": [55, 34]})["y_labels"] == [0, 20, 40, 60]
    assert _whole_number_axis({"Meetings": [9]})["y_labels"] == [0, 2, 4, 6, 8, 10]
    assert _whole_number_axis({"Families": [172]})["y_labels"] == [0, 50, 100, 150, 200]
    assert _whole_number_axis({"Days": [2.5, 4]}) == {}
    assert _whole_number_axis({"Empty": [None]}) == {}


def test_charts_share_one_cacheable_stylesheet(client, world, login):
    login(world.staff)
    page = client.get("/monitoring/").get_data(as_text=True)
    assert page.count('class="pygal-chart"') >= 5
    assert "<style" not in page  # no chart carries its own copy of the rules
    href = re.search(r'<link rel="stylesheet" href="(/monitoring/charts\.css\?v=[0-9a-f]+)"', page)
    assert href
    r = client.get(href.group(1))
    assert r.mimetype == "text/css"
    assert "svg.pygal-chart" in r.get_data(as_text=True)
    assert "#chart-" not in r.get_data(as_text=True)
    assert "&gt;" not in r.get_data(as_text=True)  # CSS text, not the SVG's escaped XML
    assert r.cache_control.max_age >= 86400 and r.cache_control.private


def test_the_dashboard_finds_a_scope_s_days_among_the_places_it_lists(world, make):
    """The dashboard reads the zones with the places its filter lists (one statement less):
    the same answer as asking the database, for everywhere, each country, each municipality,
    and with municipalities in two zones."""
    from consult.monitoring.scope import days_among, days_of

    make.municipality(name="Kathmandu", country="NP", timezone="Asia/Kathmandu")
    make.municipality(name="Pokhara", country="NP", timezone="Asia/Kathmandu")
    make.municipality(name="Hanoi", country="VN", timezone="Asia/Ho_Chi_Minh")
    make.municipality(name="Vinh", country="VN", timezone="Asia/Bangkok")
    db.session.flush()
    municipalities, countries = service.places()
    scopes = [{}] + [{"country": c} for c in countries]
    scopes += [{"municipality_id": m[0]} for m in municipalities]
    for scope in scopes:
        assert days_among(municipalities, **scope) == days_of(**scope), scope
    assert days_among(municipalities, country="NP")["timezone"] == "Asia/Kathmandu"
    assert days_among(municipalities, country="VN")["several_zones"]
