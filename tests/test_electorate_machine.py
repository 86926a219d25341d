"""A Hypothesis state machine mixes joins, leaves, come-backs, ballots, changed ballots,
show-of-hands tallies and closes for the three kinds of vote a CO holds — a vote on a proposal,
a members' vote on a counter-offer, a priority round — through the services on the real
database, and checks every result against an oracle written from the stated rule:

- the roll is the CO's members when the vote opens; people who join later are refused;
- a member who leaves before the close has the ballot set aside and leaves the base;
- hands by gender never exceed those present at the meeting; a meeting's tally replaces its
  earlier one;
- quorum when participants × 100 ≥ quorum % × base; approved when yes × 100 > threshold % ×
  (yes + no); a priority problem's score is its points plus its hands.

Each example builds its own municipality and CO (the ``app`` fixture empties the tables only
between tests), so the function-scoped-fixture health check is silenced.
"""

from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from consult.communities import service as communities
from consult.communities.models import Membership
from consult.core.db import utcnow
from consult.core.enums import Gender, ProposalState, VoteChoice, VoteResult, VoteSubject
from consult.core.refusal import Refusal
from consult.extensions import db
from consult.negotiation import offers
from consult.priorities import counting
from consult.priorities import service as priorities
from consult.proposals import service as proposals
from consult.proposals.models import ProposalVersion
from consult.votes import service as votes
from tests import factories

GENDERS = (Gender.WOMAN, Gender.MAN, Gender.OTHER)
SUFFIX = {Gender.WOMAN: "women", Gender.MAN: "men", Gender.OTHER: "other"}
CHOICES = (VoteChoice.YES, VoteChoice.NO, VoteChoice.ABSTAIN)
PRESENT = (2, 2, 1)  # women, men, other at each meeting
KINDS = ("proposal", "offer", "priority")
PROBLEMS = 2


def decide(yes, no, participants, base, quorum, threshold) -> VoteResult:
    """The rule, written again from DESIGN.md (not imported from the code under test)."""
    if participants * 100 < quorum * base:
        return VoteResult.NO_QUORUM
    if yes * 100 > threshold * (yes + no):
        return VoteResult.APPROVED
    return VoteResult.REJECTED


class Electorate(RuleBasedStateMachine):
    """The model: people (membership id → gender, current?), and per kind the open round's
    roll, ballots and tallies."""

    @initialize(
        quorum=st.sampled_from([0, 34, 50, 67, 100]),
        threshold=st.sampled_from([0, 50, 66]),
        genders=st.lists(st.sampled_from(GENDERS), min_size=1, max_size=4),
    )
    def setup(self, quorum, threshold, genders):
        self.co = factories.co(quorum_percent=quorum, threshold_percent=threshold)
        self.quorum, self.threshold = quorum, threshold
        self.leader = factories.leader(self.co, gender=Gender.MAN)
        self.people = {}  # membership id -> {"user", "gender", "current"}
        self._add(self.leader.membership_in(self.co.id), self.leader, Gender.MAN)
        for g in genders:
            u = factories.member(self.co, gender=g)
            self._add(u.membership_in(self.co.id), u, g)
        held = utcnow() - timedelta(hours=1)
        w, m, o = PRESENT
        self.meetings = [
            factories.meeting(
                self.co, held_at=held, women_present=w, men_present=m, other_present=o
            )
            for _ in range(2)
        ]
        self.problems = [factories.problem(self.co, title=f"P{i}") for i in range(PROBLEMS)]
        self.open = {}  # kind -> {"round", "proposal", "offer", "roll", "ballots", "tallies"}
        db.session.commit()

    def _add(self, membership, user, gender):
        self.people[membership.id] = {"user": user, "gender": gender, "current": True}

    def _current(self):
        return sorted(i for i, p in self.people.items() if p["current"])

    def _commit_or_refused(self, call) -> bool:
        try:
            call()
        except Refusal:
            db.session.rollback()
            return False
        db.session.commit()
        return True

    # --- membership ---------------------------------------------------------------------

    @rule(gender=st.sampled_from(GENDERS))
    def join(self, gender):
        u = factories.user(gender=gender, password=None)
        m = communities.add_member(self.co, u, by=self.leader)
        db.session.commit()
        self._add(m, u, gender)

    @precondition(lambda self: len(self._current()) > 1)
    @rule(data=st.data())
    def leave(self, data):
        others = [i for i in self._current() if i != self.leader.membership_in(self.co.id).id]
        i = data.draw(st.sampled_from(others))
        communities.end_membership(db.session.get(Membership, i), by=self.leader)
        db.session.commit()
        self.people[i]["current"] = False

    @rule(data=st.data())
    def come_back(self, data):
        gone = [i for i, p in self.people.items() if not p["current"]]
        gone = [i for i in gone if self.people[i]["user"].membership_in(self.co.id) is None]
        if not gone:
            return
        i = data.draw(st.sampled_from(gone))
        person = self.people[i]
        m = communities.add_member(self.co, person["user"], by=self.leader)
        db.session.commit()
        self._add(m, person["user"], person["gender"])  # a new membership: on no open roll

    # --- opening ------------------------------------------------------------------------

    @precondition(lambda self: len(self.open) < len(KINDS))
    @rule(data=st.data())
    def open_vote(self, data):
        kind = data.draw(st.sampled_from([k for k in KINDS if k not in self.open]))
        closes = utcnow() + timedelta(days=7)
        entry = {"ballots": {}, "tallies": {}, "roll": set(self._current())}
        if kind == "proposal":
            p = factories.proposal(self.co)
            entry["round"] = proposals.open_vote(p, self.leader, closes)
            entry["proposal"] = p
        elif kind == "offer":
            p = factories.proposal(self.co, state=ProposalState.UNDER_REVIEW)
            db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
            db.session.flush()
            officer = factories.officer(self.co.municipality)
            offer = offers.counter_offer(
                p,
                officer,
                municipal_share=Decimal("24000000"),
                community_cash=p.latest_version.community_cash,
                community_labour=Decimal("14000000"),
            )
            entry["round"] = offers.put_counter_offer_to_vote(p, self.leader, offer, closes)
            entry["proposal"], entry["offer"] = p, offer
        else:
            entry["round"] = priorities.open_round(
                self.co, by=self.leader, title="Round", points_per_member=2, max_per_problem=2
            )
        db.session.commit()
        self.open[kind] = entry

    # --- ballots ------------------------------------------------------------------------

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def ballot(self, data):
        kind = data.draw(st.sampled_from(sorted(self.open)))
        e = self.open[kind]
        i = data.draw(st.sampled_from(sorted(self.people)))
        person = self.people[i]
        if kind == "offer":  # a ballot on an offer is given as a person: their membership now
            now_member = person["user"].membership_in(self.co.id)
            i = now_member.id if now_member is not None else i
            person = self.people[i]
        allowed = person["current"] and i in e["roll"]
        membership = db.session.get(Membership, i)
        if kind == "priority":
            points = data.draw(st.tuples(*[st.integers(0, 1)] * PROBLEMS))
            wanted = {p.id: n for p, n in zip(self.problems, points, strict=True)}
            ok = self._commit_or_refused(
                lambda: priorities.give_points(e["round"], membership, wanted)
            )
            choice = {pid: n for pid, n in wanted.items() if n}
        else:
            choice = data.draw(st.sampled_from(CHOICES))

            def call():
                if kind == "proposal":
                    return proposals.cast_vote(e["proposal"], membership, choice)
                return offers.cast_offer_vote(e["proposal"], person["user"], e["offer"], choice)

            ok = self._commit_or_refused(call)
        assert ok == allowed, (kind, i, person, e["roll"])
        if ok:
            if choice:
                e["ballots"][i] = choice
            else:
                e["ballots"].pop(i, None)

    # --- show of hands ------------------------------------------------------------------

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def tally(self, data):
        kind = data.draw(st.sampled_from(sorted(self.open)))
        e = self.open[kind]
        j = data.draw(st.integers(0, len(self.meetings) - 1))
        meeting = self.meetings[j]
        counts = data.draw(st.tuples(*[st.integers(0, 3)] * 3))  # by gender, women/men/other
        fits = all(n <= cap for n, cap in zip(counts, PRESENT, strict=True))
        if kind == "priority":
            hands = {p.id: dict(zip(("women", "men", "other"), counts, strict=True))
                     for p in self.problems[:1]}  # fmt: skip
            ok = self._commit_or_refused(
                lambda: priorities.record_tally(e["round"], meeting, hands, self.leader)
            )
        else:
            choice = data.draw(st.sampled_from(CHOICES))
            form = {f"{choice.value}_{SUFFIX[g]}": n for g, n in zip(GENDERS, counts, strict=True)}
            subject = {}
            if kind == "offer":
                subject = {
                    "subject": VoteSubject.COUNTER_OFFER,
                    "counter_offer_id": e["offer"].id,
                }
            ok = self._commit_or_refused(
                lambda: votes.record_tally(e["proposal"], meeting, self.leader, form, **subject)
            )
            hands = (choice, counts)
        assert ok == fits, (kind, counts)
        if ok:
            e["tallies"][j] = hands

    # --- closing and the oracle ---------------------------------------------------------

    def _expected(self, e):
        base = {i for i in e["roll"] if self.people[i]["current"]}
        counted = {i: c for i, c in e["ballots"].items() if i in base}
        return base, counted

    @precondition(lambda self: self.open)
    @rule(data=st.data())
    def close(self, data):
        kind = data.draw(st.sampled_from(sorted(self.open)))
        e = self.open.pop(kind)
        base, counted = self._expected(e)
        rnd = e["round"]
        if kind == "priority":
            priorities.close_round(rnd, by=self.leader)
            db.session.commit()
            points = {p.id: 0 for p in self.problems}
            for ballot in counted.values():
                for pid, n in ballot.items():
                    points[pid] += n
            for hands in e["tallies"].values():
                for pid, c in hands.items():
                    points[pid] += sum(c.values())
            got = {s.problem_id: s.total for s in counting.standings(rnd)}
            assert got == points
            t = counting.turnout(rnd)
            assert (t.members, t.voted) == (len(base), len(counted))
            assert t.set_aside == len(e["ballots"]) - len(counted)
            return
        if kind == "proposal":
            rnd = proposals.close_vote(e["proposal"], self.leader)
        else:
            rnd, _version = offers.close_offer_vote(e["proposal"], self.leader, e["offer"])
        db.session.commit()
        yes = sum(1 for c in counted.values() if c == VoteChoice.YES)
        no = sum(1 for c in counted.values() if c == VoteChoice.NO)
        abstain = len(counted) - yes - no
        for choice, hands in e["tallies"].values():
            n = sum(hands)
            yes += n if choice == VoteChoice.YES else 0
            no += n if choice == VoteChoice.NO else 0
            abstain += n if choice == VoteChoice.ABSTAIN else 0
        expected = decide(yes, no, yes + no + abstain, len(base), self.quorum, self.threshold)
        assert rnd.members_at_close == len(base)
        assert (rnd.yes_count, rnd.no_count, rnd.abstain_count) == (yes, no, abstain)
        assert rnd.result == expected
        b = votes.breakdown(rnd)
        assert b.set_aside == len(e["ballots"]) - len(counted)

    @invariant()
    def open_rounds_count_from_their_roll(self):
        for kind, e in getattr(self, "open", {}).items():
            base, counted = self._expected(e)
            if kind == "priority":
                t = counting.turnout(e["round"])
                assert (t.members, t.voted) == (len(base), len(counted))
            else:
                b = votes.breakdown(e["round"])
                assert b.members == len(base)
                assert b.count(source="online") == len(counted)


Electorate.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_every_vote_counts_from_its_roll(app):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(Electorate, settings=Electorate.TestCase.settings)
