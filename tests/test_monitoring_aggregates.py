"""The dashboard's summary rows: on random programmes (meetings, problems, proposals moving
through states, backdated events, ballots, tallies, members leaving, municipalities in
different time zones) the indicators read from ``monitoring_days`` equal those computed from
the programme's tables (``monitoring.service``, the oracle); a rebuild from scratch gives the
same rows as the upkeep after each flush; the dashboard reads only the summary rows and small
look-up tables, with as many statements at two data sizes; casting a ballot does not touch
them.

Each example builds its own municipalities (the ``app`` fixture empties the tables between
tests, not between Hypothesis examples), hence the silenced function-scoped-fixture check.
"""

import math
import re
import statistics
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from consult.core.db import utcnow
from consult.core.enums import (
    Gender,
    InfrastructureType,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
    VoteChoice,
)
from consult.extensions import db
from consult.monitoring import aggregates, figures, service
from consult.monitoring.models import DailyFigure
from consult.monitoring.scope import Scope
from consult.proposals.models import Proposal
from consult.votes.models import Vote, VoteRoll, VoteRound, VoteTally
from consult.votes.service import fill_roll
from tests import factories as f

S = ProposalState
#: zones whose midnights fall at different UTC times (one 45 minutes off the hour)
ZONES = ("Asia/Phnom_Penh", "America/New_York", "Asia/Kathmandu", "UTC")
#: events fall around the periods' edges, where the zones disagree on the date
EDGES = (datetime(2024, 12, 31, 0, tzinfo=UTC), datetime(2025, 12, 31, 12, tzinfo=UTC))
PERIODS = ((date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 1, 1), date(2025, 1, 1)))
#: the workflow's path, with the timestamp each step sets
STEPS = (
    S.DRAFT,
    S.VOTING,
    S.APPROVED,
    S.SUBMITTED,
    S.UNDER_REVIEW,
    S.NEGOTIATING,
    S.AGREED,
    S.IN_PROGRESS,
    S.COMPLETED,
)


def when():
    """A time within two days of a period's edge, to the minute."""
    return st.builds(
        lambda edge, minutes: edge + timedelta(minutes=minutes),
        st.sampled_from(EDGES),
        st.integers(-2 * 1440, 2 * 1440),
    )


def op():
    co = st.integers(0, 3)
    index = st.integers(0, 20)
    return st.one_of(
        st.tuples(st.just("meeting"), co, when(), st.integers(0, 9), st.integers(0, 9)),
        st.tuples(st.just("move_meeting"), index, when()),
        st.tuples(st.just("delete_meeting"), index),
        st.tuples(st.just("problem"), co, when(), st.sampled_from(list(ProblemCategory))),
        st.tuples(st.just("problem_status"), index, st.sampled_from(list(ProblemStatus))),
        st.tuples(st.just("proposal"), co, when(), st.sampled_from(list(InfrastructureType))),
        st.tuples(
            st.just("advance"), index, when(), st.integers(0, 60), st.booleans(), st.integers(1, 8)
        ),
        st.tuples(st.just("off_path"), index, st.sampled_from([S.DECLINED, S.WITHDRAWN])),
        st.tuples(st.just("backdate"), index, when()),
        st.tuples(st.just("ballot"), index, st.integers(0, 3), when()),
        st.tuples(st.just("tally"), index, st.integers(0, 3), st.integers(0, 3), when()),
        st.tuples(st.just("leave"), co, st.integers(0, 3)),
    )


@st.composite
def programmes(draw):
    zones = draw(st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique=True))
    cos = [draw(st.integers(0, len(zones) - 1)) for _ in range(draw(st.integers(1, 4)))]
    formed = [date(2025, 1, 1) + timedelta(days=draw(st.integers(-3, 3))) for _ in cos]
    # a few proposals taken some way along the workflow, then anything in any order
    made = draw(st.integers(1, 4))
    ops = []
    for i in range(made):
        ops.append(("proposal", i, draw(when()), draw(st.sampled_from(list(InfrastructureType)))))
        ops.append(("advance", i, draw(when()), draw(st.integers(0, 60)), draw(st.booleans()),
                    draw(st.integers(0, 8))))  # fmt: skip
    return zones, cos, formed, ops + draw(st.lists(op(), max_size=30))


class Programme:
    """Applies the generated operations through the models, flushing after each, as the
    services do."""

    def __init__(self, zones, cos, formed):
        self.municipalities = [
            f.municipality(timezone=z, currency=("KHR", "USD")[i % 2], response_target_days=1)
            for i, z in enumerate(zones)
        ]
        self.cos = [
            f.co(f.settlement(self.municipalities[m]), formed_on=day)
            for m, day in zip(cos, formed, strict=True)
        ]
        self.members = {
            c.id: [f.member(c, gender=g) for g in (Gender.WOMAN, Gender.MAN, Gender.OTHER)]
            for c in self.cos
        }
        self.meetings, self.problems, self.proposals = [], [], []
        self.rounds: dict[int, VoteRound] = {}

    def co(self, i):
        return self.cos[i % len(self.cos)]

    @staticmethod
    def pick(items, i):
        return items[i % len(items)] if items else None

    def apply(self, op):
        name, *args = op
        getattr(self, name)(*args)
        db.session.flush()

    def meeting(self, co, at, women, men):
        self.meetings.append(
            f.meeting(self.co(co), held_at=at, women_present=women, men_present=men)
        )

    def move_meeting(self, i, at):
        if m := self.pick(self.meetings, i):
            m.held_at = at

    def delete_meeting(self, i):
        m = self.pick(self.meetings, i)
        if m is not None and not db.session.scalar(
            select(VoteTally.id).where(VoteTally.meeting_id == m.id)
        ):
            self.meetings.remove(m)
            db.session.delete(m)

    def problem(self, co, at, category):
        p = f.problem(self.co(co), category=category)
        p.created_at = at
        self.problems.append(p)

    def problem_status(self, i, status):
        if p := self.pick(self.problems, i):
            p.status = status

    def proposal(self, co, at, kind):
        p = f.proposal(self.co(co), infrastructure_type=kind, households_benefiting=7)
        p.created_at = at
        self.proposals.append(p)

    def advance(self, i, at, hours, actual, steps):
        """``steps`` steps along the workflow, each setting what it sets."""
        for _ in range(steps):
            self._step(i, at, hours, actual)

    def _step(self, i, at, hours, actual):
        p = self.pick(self.proposals, i)
        if p is None or p.state not in STEPS or p.state == S.COMPLETED:
            return
        p.state = STEPS[STEPS.index(p.state) + 1]
        if p.state == S.SUBMITTED:
            p.submitted_at = at
        elif p.state == S.UNDER_REVIEW:
            p.first_response_at = p.submitted_at + timedelta(hours=hours, minutes=hours)
        elif p.state == S.AGREED:
            p.agreed_at = at
        elif p.state == S.COMPLETED:
            p.completed_on = at.date()
            p.households_benefited = hours if actual else None

    def off_path(self, i, state):
        p = self.pick(self.proposals, i)
        if p is not None and p.state not in (S.DECLINED, S.WITHDRAWN, S.COMPLETED):
            p.state = state

    def backdate(self, i, at):
        if p := self.pick(self.proposals, i):
            p.created_at = at

    def _round(self, p):
        if p.id not in self.rounds:
            rnd = VoteRound(
                proposal=p,
                opened_at=p.created_at,
                closes_at=p.created_at + timedelta(days=9),
                quorum_percent=50,
                threshold_percent=50,
            )
            db.session.add(rnd)
            db.session.flush()
            fill_roll(rnd, p.co_id)
            self.rounds[p.id] = rnd
        return self.rounds[p.id]

    def ballot(self, i, who, at):
        p = self.pick(self.proposals, i)
        if p is None:
            return
        rnd = self._round(p)
        user = self.members[p.co_id][who % 3]
        membership = user.membership_in(p.co_id)  # None once they have left
        if membership is None:
            return
        voted = db.session.scalar(
            select(Vote.id).where(Vote.round_id == rnd.id, Vote.membership_id == membership.id)
        )
        on_roll = db.session.scalar(
            select(VoteRoll.membership_id).where(
                VoteRoll.round_id == rnd.id, VoteRoll.membership_id == membership.id
            )
        )
        if voted is None and on_roll is not None:
            db.session.add(
                Vote(round=rnd, membership_id=membership.id, choice=VoteChoice.YES, cast_at=at)
            )

    def tally(self, i, meeting, hands, at):
        p = self.pick(self.proposals, i)
        m = self.pick(self.meetings, meeting)
        if p is None or m is None:
            return
        rnd = self._round(p)
        found = db.session.scalar(
            select(VoteTally).where(VoteTally.round_id == rnd.id, VoteTally.meeting_id == m.id)
        )
        if found is None:
            t = VoteTally(round=rnd, meeting_id=m.id, yes_women=hands, no_men=1)
            t.created_at = at
            db.session.add(t)
        else:  # replaced, as the service does
            found.yes_women, found.abstain_other = hands, hands + 1

    def leave(self, co, who):
        c = self.co(co)
        membership = self.members[c.id][who % 3].membership_in(c.id)
        if membership is not None:
            membership.left_on = date(2025, 6, 1)


def _scope(start, end, **kw):
    return Scope(start, end, **kw)


def median_hours_oracle(scope: Scope, zone: str) -> float | None:
    """The median of the whole hours to the first answer, in days, from the proposals."""
    hours = []
    for p in db.session.scalars(
        select(Proposal).where(
            Proposal.municipality_id == scope.municipality_id,
            Proposal.submitted_at.is_not(None),
            Proposal.first_response_at.is_not(None),
        )
    ):
        if scope.start <= aggregates.local_day(p.submitted_at, zone) <= scope.end:
            hours.append(math.floor((p.first_response_at - p.submitted_at).total_seconds() / 3600))
    return round(statistics.median(hours) / 24, 2) if hours else None


def assert_same(got, want, median=None):
    """``got`` (from the summary rows) equals ``want`` (the oracle), the median apart."""
    want = replace(
        want,
        response=[replace(r, median_days=median) for r in want.response],
        votes_until=got.votes_until,
    )
    assert got == want


def check_all(programme: Programme):
    conn = db.session.connection()
    aggregates.count_votes(conn, now=datetime(2030, 1, 1, tzinfo=UTC))
    for start, end in PERIODS:
        for m in programme.municipalities:
            scope = _scope(start, end, municipality_id=m.id, timezone=m.timezone)
            got = figures.indicators(scope)
            assert_same(got, service.indicators(scope), median_hours_oracle(scope, m.timezone))
        for c in programme.cos:
            zone = c.settlement.municipality.timezone
            scope = _scope(start, end, co_id=c.id, timezone=zone)
            got = figures.indicators(scope)
            want = service.indicators(scope)
            assert_same(got, want, got.response[0].median_days if got.response else None)
        # the whole programme: each municipality counts in its own days
        whole = figures.indicators(_scope(start, end, timezone="UTC", several_zones=True))
        parts = [
            service.indicators(_scope(start, end, municipality_id=m.id, timezone=m.timezone))
            for m in db.session.scalars(select(f.Municipality))
        ]
        assert whole.cos_formed == sum(p.cos_formed for p in parts)
        assert whole.attendance.people == sum(p.attendance.people for p in parts)
        assert whole.attendance.meetings == sum(p.attendance.meetings for p in parts)
        for g in Gender:
            assert whole.votes[g] == sum(p.votes[g] for p in parts)
        assert [r.count for r in whole.proposals] == [
            sum(p.proposals[i].count for p in parts) for i in range(len(whole.proposals))
        ]
        assert whole.families_benefited == sum(p.families_benefited for p in parts)
        assert [r.improved for r in whole.settlements] == [
            sum(p.settlements[i].improved for p in parts) for i in range(len(whole.settlements))
        ]


def summary_rows():
    return sorted(
        (r.co_id, r.day, r.measure, r.key, r.municipality_id, r.count, r.amount)
        for r in db.session.scalars(select(DailyFigure))
        if r.count or r.amount
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(programmes())
def test_summary_rows_give_the_raw_indicators(app, generated):
    zones, cos, formed, ops = generated
    programme = Programme(zones, cos, formed)
    for o in ops:
        note(repr(o))
        programme.apply(o)
    check_all(programme)
    kept = summary_rows()
    aggregates.rebuild(db.session.connection(), now=datetime(2030, 1, 1, tzinfo=UTC))
    assert summary_rows() == kept
    db.session.rollback()


def test_a_backdated_meeting_leaves_its_day_and_a_deleted_one_is_uncounted(app):
    m = f.municipality(timezone="Asia/Phnom_Penh")
    co = f.co(f.settlement(m))
    meeting = f.meeting(co, held_at=datetime(2025, 3, 1, 18, tzinfo=UTC), women_present=4)
    scope = _scope(date(2025, 3, 1), date(2025, 3, 2), co_id=co.id, timezone=m.timezone)
    # 18:00 UTC is 01:00 the next day in Phnom Penh
    assert (
        figures.indicators(
            _scope(date(2025, 3, 2), date(2025, 3, 2), co_id=co.id)
        ).attendance.meetings
        == 1
    )
    meeting.held_at = datetime(2025, 2, 1, 9, tzinfo=UTC)
    db.session.flush()
    assert figures.indicators(scope).attendance.meetings == 0
    feb = _scope(date(2025, 2, 1), date(2025, 2, 1), co_id=co.id)
    assert figures.indicators(feb).attendance.women == 4
    db.session.delete(meeting)
    db.session.flush()
    assert figures.indicators(feb).attendance.meetings == 0


def test_a_proposal_moves_from_state_to_state_in_the_same_transaction(app):
    m = f.municipality()
    co = f.co(f.settlement(m))
    p = f.proposal(co)
    p.created_at = datetime(2025, 5, 1, 3, tzinfo=UTC)
    db.session.flush()
    scope = _scope(date(2025, 1, 1), date(2025, 12, 31), co_id=co.id, timezone=m.timezone)

    def count(state):
        return next(r.count for r in figures.indicators(scope).proposals if r.state == state)

    assert count(S.DRAFT) == 1
    p.state = S.VOTING
    db.session.flush()
    assert (count(S.DRAFT), count(S.VOTING)) == (0, 1)
    db.session.rollback()  # the rows roll back with the change
    assert (
        db.session.scalar(select(DailyFigure.count).where(DailyFigure.measure == "proposals"))
        is None
    )


def test_ballots_are_counted_by_the_refresh_once_each_and_not_while_young(app):
    m = f.municipality(timezone="UTC")
    co = f.co(f.settlement(m))
    woman = f.member(co, gender=Gender.WOMAN)
    p = f.proposal(co, S.VOTING)
    rnd = VoteRound(
        proposal=p,
        opened_at=p.created_at,
        closes_at=p.created_at + timedelta(days=9),
        quorum_percent=50,
        threshold_percent=50,
    )
    db.session.add(rnd)
    db.session.flush()
    fill_roll(rnd, co.id)
    now = utcnow()
    db.session.add(
        Vote(
            round=rnd,
            membership_id=woman.membership_in(co.id).id,
            choice=VoteChoice.NO,
            cast_at=now,
        )
    )
    db.session.flush()
    scope = _scope(now.date() - timedelta(days=1), now.date() + timedelta(days=1), co_id=co.id)
    conn = db.session.connection()
    assert aggregates.count_votes(conn, now=now) == 0  # too young: its transaction may be open
    assert figures.indicators(scope).votes[Gender.WOMAN] == 0
    later = now + timedelta(seconds=aggregates.VOTES_SETTLE_SECONDS + 1)
    assert aggregates.count_votes(conn, now=later) == 1
    assert aggregates.count_votes(conn, now=later) == 0  # counted once
    got = figures.indicators(scope)
    assert got.votes[Gender.WOMAN] == 1
    assert got.votes_until == later - timedelta(seconds=aggregates.VOTES_SETTLE_SECONDS)


def _capture(engine):
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    return seen, lambda: event.remove(engine, "before_cursor_execute", listen)


TABLE = re.compile(r"\b(?:FROM|JOIN|UPDATE|INTO)\s+\"?(\w+)", re.IGNORECASE)
LOOKUPS = {"monitoring_days", "monitoring_marks", "municipalities"}


def _grow(n: int):
    """``n`` more of everything, in a new municipality."""
    m = f.municipality()
    for _ in range(n):
        co = f.co(f.settlement(m))
        f.meeting(co, held_at=datetime(2025, 4, 1, tzinfo=UTC))
        f.problem(co)
        p = f.proposal(co, S.COMPLETED, completed_on=date(2025, 6, 1))
        p.agreed_at = datetime(2025, 5, 1, tzinfo=UTC)
    db.session.commit()
    return m


@pytest.mark.parametrize("which", ["all", "country", "municipality", "co"])
def test_the_dashboard_reads_only_summary_rows_and_as_many_statements_at_any_size(app, which):
    def scope_of(m):
        co_id = db.session.scalar(select(f.CommunityOrganisation.id).limit(1))
        return {
            "all": _scope(date(2025, 1, 1), date(2025, 12, 31), several_zones=True),
            "country": _scope(date(2025, 1, 1), date(2025, 12, 31), country="KH"),
            "municipality": _scope(date(2025, 1, 1), date(2025, 12, 31), municipality_id=m.id),
            "co": _scope(date(2025, 1, 1), date(2025, 12, 31), co_id=co_id),
        }[which]

    counts = []
    for n in (1, 8):
        scope = scope_of(_grow(n))
        seen, stop = _capture(db.engine)
        try:
            ind = figures.indicators(scope)
        finally:
            stop()
        assert ind.attendance.meetings >= 1
        tables = {t.lower() for s in seen for t in TABLE.findall(s)}
        assert tables <= LOOKUPS, tables
        counts.append(len(seen))
    assert counts[0] == counts[1]


def test_casting_a_ballot_does_not_touch_the_summary_rows(app):
    from consult.votes import ballots as votes

    m = f.municipality()
    co = f.co(f.settlement(m))
    voter = f.member(co)
    p = f.proposal(co, S.VOTING)
    rnd = VoteRound(
        proposal=p,
        opened_at=utcnow() - timedelta(hours=1),
        closes_at=utcnow() + timedelta(days=1),
        quorum_percent=50,
        threshold_percent=50,
    )
    db.session.add(rnd)
    db.session.flush()
    fill_roll(rnd, co.id)
    db.session.commit()
    seen, stop = _capture(db.engine)
    try:
        assert votes.cast(p, voter.membership_in(co.id), VoteChoice.YES) == "cast"
        db.session.flush()
    finally:
        stop()
    assert not [s for s in seen if "monitoring_" in s]


def test_rebuild_command_repairs_the_rows(app, runner):
    m = f.municipality()
    co = f.co(f.settlement(m))
    f.meeting(co, held_at=datetime(2025, 4, 1, tzinfo=UTC), women_present=3)
    db.session.commit()
    before = summary_rows()
    db.session.execute(DailyFigure.__table__.delete())
    db.session.commit()
    result = runner.invoke(args=["rebuild-monitoring"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert summary_rows() == before
    assert before


def test_migration_amounts_stay_exact(app):
    """Money sums through the summary rows stay Decimal and exact on both engines."""
    m = f.municipality(currency="USD")
    co = f.co(f.settlement(m))
    for cents in ("0.10", "0.20"):
        p = f.proposal(co, S.AGREED, amount_requested=Decimal(cents), community_cash=Decimal("0"))
        p.community_labour = Decimal("0.05")
        p.agreed_at = datetime(2025, 5, 1, tzinfo=UTC)
    db.session.flush()
    got = figures.indicators(_scope(date(2025, 1, 1), date(2025, 12, 31), co_id=co.id))
    assert [(r.currency, r.proposals, r.municipal, r.community) for r in got.funding] == [
        ("USD", 2, Decimal("0.30"), Decimal("0.10"))
    ]


def test_the_migration_back_fills_the_rows_the_upkeep_keeps(empty_database, tmp_path):
    """Upgrade, fill with the demo (rows kept flush by flush), go back before the summary
    tables and up again: the back-fill counts the same rows."""
    from flask_migrate import downgrade as migrate_downgrade
    from flask_migrate import upgrade as migrate_upgrade

    from consult import demo
    from tests.conftest import make_test_app

    app = make_test_app(empty_database, tmp_path)
    with app.app_context():
        migrate_upgrade()
        demo.seed()
        db.session.commit()
        kept = [r for r in summary_rows() if r[2] != "votes"]  # ballots: counted by refresh
        assert kept
        db.session.remove()
        migrate_downgrade(revision="b7c1e2d3a4f5")
        migrate_upgrade()
        assert [r for r in summary_rows() if r[2] != "votes"] == kept
        db.session.remove()
        db.engine.dispose()


def test_a_co_summary_repeat_view_is_a_304_and_charts_are_drawn_once_per_figures(
    app, world, login, client, monkeypatch
):
    from flask import g

    from consult.monitoring import charts

    monkeypatch.setitem(app.config, "MONITORING_SNAPSHOT_SECONDS", 300)
    drawn = []
    real = charts.for_indicators
    monkeypatch.setattr(charts, "for_indicators", lambda ind: drawn.append(1) or real(ind))
    f.meeting(world.co)
    db.session.commit()
    login(world.leader)
    url = f"/monitoring/co/{world.co.id}"
    first = client.get(url)
    assert first.status_code == 200 and "Figures as of" in first.get_data(as_text=True)
    g.pop("_login_user", None)
    seen, stop = _capture(db.engine)
    try:
        repeat = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    finally:
        stop()
    assert repeat.status_code == 304 and repeat.data == b""
    assert len(seen) <= 6  # who reads, the CO, its zone, unread count: as the dashboard
    assert not [s for s in seen if "monitoring_days" in s]  # no figure was read
    # a new snapshot of the same figures (the old one expired) draws no chart again
    from consult.extensions import cache

    for key in [k for k in cache.cache._cache if ":html:" not in k and ":charts:" not in k]:
        cache.delete(key)
    assert client.get(url).status_code == 200
    assert len(drawn) == 1
    # new figures, new charts
    f.meeting(world.co)
    db.session.commit()
    for key in [k for k in cache.cache._cache if ":charts:" not in k]:
        cache.delete(key)
    assert client.get(url).status_code == 200
    assert len(drawn) == 2


def test_the_page_says_until_when_online_votes_are_counted(app, world, login, client, runner):
    login(world.staff)
    page = client.get("/monitoring/").get_data(as_text=True)
    assert "Online votes have not been counted yet" in page
    result = runner.invoke(args=["refresh-monitoring"])
    assert result.exit_code == 0, result.output
    assert "0 ballots counted." in result.output
    page = client.get("/monitoring/").get_data(as_text=True)
    assert "these include votes cast until" in page
