"""Every form with a number or money field, found from the form classes, gets non-finite,
huge, negative, locale-ambiguous and malformed values in all of those fields at once: each
must come back as a field error with the typed text kept, never a 500, and nothing stored.

A new form class with a number field fails ``test_every_number_form_has_a_scenario`` until it
is given a scenario here, so it cannot escape the fuzzing.
"""

import html
import importlib
import inspect
import pkgutil
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import wtforms
from flask import g
from sqlalchemy import func, select
from wtforms.fields.core import UnboundField

import consult
from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.core.fields import NumberField
from consult.extensions import db
from consult.negotiation import offers as negotiation
from consult.priorities import service as priorities
from consult.proposals import service as proposals
from consult.proposals.models import ProposalVersion

#: typed by mistake, pasted, or written with another locale's habits — refused by every
#: number and money field of an English page
BAD = [
    "inf",
    "-inf",
    "Infinity",
    "nan",
    "1e309",
    "1e3",
    "99999999999999999999999999",
    "-500",
    "40.000.000",  # dots between thousands (Lao, Indonesian, European habit)
    "1,2,3",
    "12,34",
    "1.2.3",
    "1 000 000",
    "0x1F",
    "1_000",
    "--1",
    "½",
    "12abc",
]


def _form_modules():
    for info in pkgutil.walk_packages(consult.__path__, "consult."):
        if info.name.endswith(".forms"):
            yield importlib.import_module(info.name)


def _form_classes():
    for module in _form_modules():
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, wtforms.Form)
                and cls.__module__ == module.__name__
            ):
                yield f"{module.__name__.removeprefix('consult.')}.{name}", cls


def _number_fields(cls) -> list[str]:
    return [
        name
        for name, value in inspect.getmembers(cls)
        if isinstance(value, UnboundField) and issubclass(value.field_class, NumberField)
    ]


# --- scenarios: who posts which form where, with valid values in its other fields ----------


def _in_review(w, make):
    p = make.proposal(w.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    return p


def _in_progress(w, make):
    p = make.proposal(w.co, state=ProposalState.IN_PROGRESS, agreed_at=utcnow() - timedelta(30))
    p.started_on = (utcnow() - timedelta(days=20)).date()
    return p


def _round(w, make):
    make.problem(w.co, title="Flooded lane")
    make.problem(w.co, title="No light")
    return priorities.open_round(w.co, by=w.leader, title="Priorities")


def proposal_form(w, make):
    data = {
        "title": "Lane",
        "infrastructure_type": "concrete_lane",
        "estimated_cost": "40,000,000",
        "amount_requested": "34,000,000",
        "community_cash": "2,000,000",
        "community_labour": "4,000,000",
    }
    return w.leader, f"/co/{w.co.id}/proposals/new", data, ""


def proposal_tally(w, make):
    p = make.proposal(w.co)
    proposals.open_vote(p, w.leader, utcnow() + timedelta(days=7))
    meeting = make.meeting(w.co, held_at=utcnow() - timedelta(hours=1))
    return w.leader, f"/proposals/{p.id}/tally", {"meeting_id": meeting.id}, ""


def offer_tally(w, make):
    p = _in_review(w, make)
    offer = negotiation.counter_offer(
        p,
        w.officer,
        municipal_share=Decimal("24000000"),
        community_cash=Decimal("2000000"),
        community_labour=Decimal("14000000"),
    )
    negotiation.put_counter_offer_to_vote(p, w.leader, offer, utcnow() + timedelta(days=7))
    meeting = make.meeting(w.co, held_at=utcnow() - timedelta(hours=1))
    url = f"/proposals/{p.id}/thread/offers/{offer.id}/tally"
    return w.leader, url, {"meeting_id": meeting.id}, ""


def counter_offer(w, make):
    p = _in_review(w, make)
    return w.officer, f"/proposals/{p.id}/thread/counter-offer", {"scope": "Narrower"}, ""


def progress_update(w, make):
    p = _in_progress(w, make)
    url = f"/proposals/{p.id}/implementation/updates"
    return w.officer, url, {"update-note": "Going well"}, "update-"


def completion(w, make):
    p = _in_progress(w, make)
    today = utcnow().date().isoformat()
    url = f"/proposals/{p.id}/implementation/complete"
    return w.officer, url, {"completed_on": today}, ""


def meeting(w, make):
    data = {"kind": "consultation", "day": "2026-01-10", "time": "18:00"}
    return w.leader, f"/co/{w.co.id}/meetings/new", data, ""


def open_round(w, make):
    make.problem(w.co)
    return w.leader, f"/co/{w.co.id}/priorities/new", {"title": "Priorities"}, ""


def ballot(w, make):
    rnd = _round(w, make)
    return w.member, f"/priorities/{rnd.id}/ballot", {}, ""


def round_tally(w, make):
    rnd = _round(w, make)
    meeting = make.meeting(w.co, held_at=utcnow() - timedelta(hours=1))
    return w.leader, f"/priorities/{rnd.id}/tally", {"meeting_id": meeting.id}, ""


def read_receipt(w, make):
    p = _in_review(w, make)
    return w.member, f"/proposals/{p.id}/thread/read", {}, ""


def voting_rules(w, make):
    return w.leader, f"/co/{w.co.id}/rules", {}, ""


def settlement(w, make):
    url = f"/places/municipalities/{w.municipality.id}/settlements/new"
    return w.staff, url, {"name": "Andong", "tenure": "informal"}, ""


def problem(w, make):
    data = {"title": "Flooded lane", "category": "drainage", "meeting_id": "0"}
    return w.member, f"/co/{w.co.id}/problems/new", data, ""


def municipality(w, make):
    data = {
        "name": "Siem Reap",
        "city": "Siem Reap",
        "country": "KH",
        "currency": "KHR",
        "timezone": "Asia/Phnom_Penh",
        "default_language": "km",
    }
    return w.admin, "/admin/municipalities/new", data, ""


#: form class → scenario; forms built per round (priorities' ballot and tally) are named by
#: their builder and their fields read from the page
SCENARIOS = {
    "proposals.forms.ProposalForm": proposal_form,
    "votes.forms.TallyForm": proposal_tally,
    "negotiation.forms.CounterOfferForm": counter_offer,
    "implementation.forms.UpdateForm": progress_update,
    "implementation.forms.CompleteForm": completion,
    "meetings.forms.MeetingForm": meeting,
    "priorities.forms.OpenRoundForm": open_round,
    "communities.forms.VotingRulesForm": voting_rules,
    "communities.forms.SettlementForm": settlement,
    "problems.forms.ProblemForm": problem,
    "admin.forms.MunicipalityForm": municipality,
}
BUILT = {
    "priorities.forms.ballot_form": (ballot, r"problem_\d+"),
    "priorities.forms.tally_form": (round_tally, r"(?:women|men|other)_\d+"),
    "votes.forms.TallyForm (counter-offer vote)": (offer_tally, None),
}
#: forms whose number fields are hidden (sent by the page, never typed): no field to show an
#: error on, but still no 500 and nothing stored
HIDDEN = {
    "negotiation.forms.ReadForm": read_receipt,
}


def test_every_number_form_has_a_scenario():
    found = {name for name, cls in _form_classes() if _number_fields(cls)}
    assert found, "no form with a number field found: the discovery is broken"
    assert found == set(SCENARIOS) | set(HIDDEN), "give each such form a scenario above"


def test_no_form_uses_another_number_field():
    """One number field and one money field for all forms (WTForms' own number fields read
    a locale-blind ``float``/``Decimal`` and let ``inf`` through)."""
    others = (
        wtforms.IntegerField,
        wtforms.DecimalField,
        wtforms.FloatField,
        wtforms.IntegerRangeField,
        wtforms.DecimalRangeField,
    )
    for name, cls in _form_classes():
        for attr, value in inspect.getmembers(cls):
            if isinstance(value, UnboundField):
                assert not issubclass(value.field_class, others), f"{name}.{attr}"
    for module in _form_modules():
        source = inspect.getsource(module)
        for other in others:
            assert f"{other.__name__}(" not in source, f"{module.__name__}: {other.__name__}"


def _rows() -> int:
    return sum(
        db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    )


def _input(page: str, name: str) -> str | None:
    match = re.search(r'<input[^>]*\bname="' + re.escape(name) + r'"[^>]*>', page)
    return match.group(0) if match else None


def _fields_on(page: str, pattern: str) -> list[str]:
    return sorted(set(re.findall(r'name="(' + pattern + r')"', page)))


def _fuzz(world, make, client, login, scenario, names=None, pattern=None):
    user, url, data, prefix = scenario(world, make)
    db.session.commit()
    g.pop("_login_user", None)
    login(user)
    if names is None:
        page = client.get(url.replace("/ballot", "")).get_data(as_text=True)
        names = _fields_on(page, pattern)
    fields = [prefix + n for n in names]
    assert fields
    before = _rows()
    for bad in BAD:
        r = client.post(url, data={**data, **{f: bad for f in fields}})
        assert r.status_code == 200, (url, bad, r.status_code)
        page = r.get_data(as_text=True)
        for f in fields:
            tag = _input(page, f)
            assert tag is not None, (url, f)
            assert f'value="{html.escape(bad, quote=True)}"' in tag, (url, f, bad, tag)
            assert 'aria-invalid="true"' in tag, (url, f, bad, tag)
    assert _rows() == before, f"{url}: something was stored"


@pytest.mark.parametrize("form_name", sorted(SCENARIOS))
def test_bad_numbers_are_field_errors_with_the_typing_kept(form_name, world, make, client, login):
    cls = dict(_form_classes())[form_name]
    _fuzz(world, make, client, login, SCENARIOS[form_name], names=_number_fields(cls))


@pytest.mark.parametrize("built", sorted(BUILT))
def test_bad_numbers_in_forms_built_per_round(built, world, make, client, login):
    scenario, pattern = BUILT[built]
    if pattern is None:  # the counter-offer's tally page uses the proposal's TallyForm
        cls = dict(_form_classes())["votes.forms.TallyForm"]
        _fuzz(world, make, client, login, scenario, names=_number_fields(cls))
    else:
        _fuzz(world, make, client, login, scenario, pattern=pattern)


@pytest.mark.parametrize("form_name", sorted(HIDDEN))
def test_bad_numbers_in_hidden_fields_are_refused_quietly(form_name, world, make, client, login):
    user, url, data, prefix = HIDDEN[form_name](world, make)
    db.session.commit()
    login(user)
    fields = [prefix + n for n in _number_fields(dict(_form_classes())[form_name])]
    before = _rows()
    for bad in BAD:
        r = client.post(url, data={**data, **{f: bad for f in fields}})
        assert r.status_code < 500, (url, bad)
    assert _rows() == before
