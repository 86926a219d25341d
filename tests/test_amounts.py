"""Amounts exactly as people type and read them (issue cases 1 and 2), and the parser's
properties (Hypothesis): for each supported locale a written value reads back the same, any
text it accepts means exactly one amount, and no text makes it fail other than by refusing."""

from decimal import Decimal

import pytest
from flask_babel import refresh
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from consult.core import numbers
from consult.core.enums import ProposalState
from consult.core.formatting import money
from consult.core.numbers import NumberRefused, read_number, write_number
from consult.extensions import db
from consult.negotiation.models import Message
from consult.proposals.models import Proposal, ProposalVersion

#: the app's languages, and Lao: the habit of the issue's leader (dots between thousands)
LOCALES = ["en", "km", "lo"]


def _draft(**amounts):
    return {
        "title": "Concrete lane",
        "infrastructure_type": "concrete_lane",
        "estimated_cost": "40,000,000",
        "amount_requested": "30,000,000",
        "community_cash": "4,000,000",
        "community_labour": "6,000,000",
        **amounts,
    }


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- case 1: dots between thousands are not read as decimals ---------------------------------


def test_lao_style_thousands_refused_in_english_with_the_spelling_shown(world, client, login):
    """``40.000.000`` was saved as 40 KHR with "The draft is saved."."""
    login(world.leader)
    typed = {
        "estimated_cost": "40.000.000",
        "amount_requested": "30.000.000",
        "community_cash": "4.000.000",
        "community_labour": "6.000.000",
    }
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_draft(**typed))
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Not a number as written in English: write it like 1,234,567" in page
    for value in typed.values():
        assert f'value="{value}"' in page
    assert _count(Proposal) == 0


def test_decimals_refused_for_riel_and_amounts_shown_with_babel(world, client, login):
    login(world.leader)
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_draft(community_cash="4000000.5"))
    assert r.status_code == 200
    assert "Whole numbers only, without decimals" in r.get_data(as_text=True)
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_draft())
    assert r.status_code == 302
    p = db.session.scalar(select(Proposal))
    assert p.estimated_cost == Decimal("40000000")
    page = client.get(f"/proposals/{p.id}").get_data(as_text=True)
    assert "៛40,000,000" in page  # English: the riel's own CLDR symbol, ahead as in English
    edit = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert 'value="30,000,000"' in edit and "30000000.00" not in edit
    assert 'inputmode="numeric"' in edit  # riel: a digit pad, no decimal mark needed
    client.post("/language", data={"lang": "km", "next": "/"})
    assert "40,000,000៛" in client.get(f"/proposals/{p.id}").get_data(as_text=True)


def test_a_pasted_map_coordinate_is_kept_and_shown_as_stored(world, client, login):
    login(world.leader)
    where = {"latitude": "11.556412345", "longitude": "104.9282345"}
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_draft(**where))
    assert r.status_code == 302
    p = db.session.scalar(select(Proposal))
    assert (p.latitude, p.longitude) == (11.556412345, 104.9282345)
    edit = client.get(f"/proposals/{p.id}/edit").get_data(as_text=True)
    assert 'value="11.556412345"' in edit and 'value="104.9282345"' in edit


def test_actual_cost_with_lao_thousands_is_refused_not_stored_as_41_5(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.IN_PROGRESS)
    p.started_on = p.created_at.date()
    db.session.commit()
    login(world.officer)
    url = f"/proposals/{p.id}/implementation/complete"
    data = {"completed_on": p.started_on.isoformat(), "households_benefited": "60"}
    r = client.post(url, data={**data, "actual_cost": "41.500.000"})
    assert r.status_code == 200 and 'value="41.500.000"' in r.get_data(as_text=True)
    assert db.session.get(Proposal, p.id).actual_cost is None
    r = client.post(url, data={**data, "actual_cost": "41,500,000"})
    assert r.status_code == 302
    assert db.session.get(Proposal, p.id).actual_cost == Decimal("41500000")


def test_dollars_keep_their_cents(make, client, login):
    m = make.municipality(currency="USD", timezone="America/New_York")
    co = make.co(make.settlement(m))
    leader = make.leader(co)
    db.session.commit()
    login(leader)
    amounts = {
        "estimated_cost": "1,500.50",
        "amount_requested": "1,000.25",
        "community_cash": "500.25",
        "community_labour": "0",
    }
    r = client.post(f"/co/{co.id}/proposals/new", data=_draft(**amounts))
    assert r.status_code == 302
    p = db.session.scalar(select(Proposal))
    assert p.estimated_cost == Decimal("1500.50")
    assert "$1,500.50" in client.get(f"/proposals/{p.id}").get_data(as_text=True)
    amounts["community_labour"] = "0.125"
    r = client.post(f"/proposals/{p.id}/edit", data=_draft(**amounts))
    assert "At most 2 decimals" in r.get_data(as_text=True)


# --- case 2: non-finite and huge values were a 500 ------------------------------------------


@pytest.mark.parametrize("bad", ["inf", "1e309", "NaN", "99999999999999999999999999"])
def test_non_finite_or_huge_cost_on_a_new_or_edited_proposal(bad, world, make, client, login):
    p = make.proposal(world.co)
    db.session.commit()
    login(world.leader)
    for url in (f"/co/{world.co.id}/proposals/new", f"/proposals/{p.id}/edit"):
        r = client.post(url, data=_draft(estimated_cost=bad))
        assert r.status_code == 200, url
        assert f'value="{bad}"' in r.get_data(as_text=True)
    assert _count(Proposal) == 1
    assert db.session.get(Proposal, p.id).estimated_cost == Decimal("40000000")


def test_huge_counter_offer_share_and_infinite_spending(world, make, client, login):
    p = make.proposal(world.co, state=ProposalState.UNDER_REVIEW)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.commit()
    login(world.officer)
    r = client.post(
        f"/proposals/{p.id}/thread/counter-offer",
        data={
            "municipal_share": "99999999999999999999999999",
            "community_cash": "2,000,000",
            "community_labour": "4,000,000",
        },
    )
    assert r.status_code == 200
    assert "Enter a number from 0 to 999,999,999,999." in r.get_data(as_text=True)
    assert _count(Message) == 0


def test_the_largest_amount_fits_the_column(world, client, login):
    login(world.leader)
    top = "999,999,999,999"
    amounts = {"estimated_cost": top, "amount_requested": top}
    amounts |= {"community_cash": "0", "community_labour": "0"}
    r = client.post(f"/co/{world.co.id}/proposals/new", data=_draft(**amounts))
    assert r.status_code == 302
    assert db.session.scalar(select(Proposal.estimated_cost)) == numbers.MAX_AMOUNT


# --- the parser's rules and properties ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "locale", "places", "value"),
    [
        ("40,000,000", "en", 0, Decimal("40000000")),
        ("40000000", "en", 0, Decimal("40000000")),
        ("40.000.000", "lo", 0, Decimal("40000000")),
        ("41,5", "lo", 2, Decimal("41.5")),
        ("1,500.50", "en", 2, Decimal("1500.50")),
        ("៤០,០០០", "km", 0, Decimal("40000")),  # Khmer digits
        ("-0", "en", 0, Decimal("0")),
    ],
)
def test_read_number_accepts(text, locale, places, value):
    assert read_number(text, locale, places=places) == value


@pytest.mark.parametrize(
    ("text", "locale", "places", "reason"),
    [
        ("40.000.000", "en", 0, "spelling"),
        ("40,000,000", "lo", 0, "spelling"),
        ("41.5", "lo", 2, "spelling"),  # Lao writes 41,5
        ("41,5", "en", 2, "spelling"),
        ("41.000", "en", 0, "whole"),  # 41 or 41,000? refused, not guessed
        ("41.000", "en", 2, "places"),
        ("inf", "en", 2, "spelling"),
        ("1e309", "en", 2, "spelling"),
        ("NaN", "km", 2, "spelling"),
        ("-5", "en", 0, "negative"),
        ("100000001", "en", 0, "range"),
    ],
)
def test_read_number_refuses(text, locale, places, reason):
    with pytest.raises(NumberRefused) as refused:
        read_number(text, locale, places=places)
    assert refused.value.reason == reason


def test_currencies_without_minor_units_in_practice():
    assert numbers.currency_places("KHR") == 0  # our rule: riel are whole in practice
    assert numbers.currency_places("LAK") == 0  # CLDR
    assert numbers.currency_places("USD") == 2
    assert numbers.currency_places("PHP") == 2


amounts = st.decimals(
    min_value=0, max_value=numbers.MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)


@given(value=amounts, locale=st.sampled_from(LOCALES), places=st.sampled_from([0, 2]))
@example(value=Decimal("40000000"), locale="lo", places=0)
def test_written_values_read_back_the_same(value, locale, places):
    value = value.quantize(Decimal(1)) if places == 0 else value
    for grouping in (True, False):
        text = write_number(value, locale, places, grouping=grouping)
        assert read_number(text, locale, places=places, maximum=numbers.MAX_AMOUNT) == value


@given(text=st.text(alphabet="0123456789.,- \u00a0e", max_size=14), locale=st.sampled_from(LOCALES))
@example(text="40.000.000", locale="en")
@example(text="1,000", locale="lo")
def test_accepted_text_means_exactly_one_amount(text, locale):
    """What is accepted reads back from its own canonical spelling; and a text accepted in
    one locale is either refused in a locale with the opposite separators or means the same
    amount there (``40`` is 40 everywhere; ``1,000`` is refused in Lao, never 1)."""
    try:
        value = read_number(text, locale, places=2, maximum=numbers.MAX_AMOUNT)
    except NumberRefused:
        return
    assert value.is_finite() and 0 <= value <= numbers.MAX_AMOUNT
    assert -value.as_tuple().exponent <= 2
    canonical = write_number(value, locale, 2)
    assert read_number(canonical, locale, places=2, maximum=numbers.MAX_AMOUNT) == value
    for other in LOCALES:
        try:
            elsewhere = read_number(text, other, places=2, maximum=numbers.MAX_AMOUNT)
        except NumberRefused:
            continue
        assert elsewhere == value, (text, locale, other)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(text=st.text(max_size=30), locale=st.sampled_from(LOCALES))
def test_no_text_breaks_the_parser(app, text, locale):
    try:
        read_number(text, locale, places=2, maximum=numbers.MAX_AMOUNT)
    except NumberRefused:
        pass


def test_each_currency_with_its_own_symbol(app):
    shown = {}
    for language in ("en", "km"):
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()
            for currency in ("KHR", "LAK", "USD", "MXN"):
                shown[language, currency] = money(Decimal("15000000"), currency)
    assert shown["en", "KHR"] == "៛15,000,000" and shown["km", "KHR"] == "15,000,000៛"
    assert shown["en", "LAK"] == "₭15,000,000"
    assert shown["en", "USD"] == "$15,000,000.00"
    assert shown["en", "MXN"] == "MX$15,000,000.00"  # CLDR's own: not a bare "$"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=40)
@given(value=amounts, currency=st.sampled_from(["KHR", "LAK", "USD", "THB"]))
def test_money_is_shown_with_the_currency_decimals(app, value, currency):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        shown = money(value, currency)
    places = numbers.currency_places(currency)
    if places == 0:
        assert "." not in shown
    else:
        assert shown.rsplit(".", 1)[1][:places].isdigit()
