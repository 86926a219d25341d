"""The JSON API: tokens, the golden path through the API alone, errors, pages, idempotency."""

from datetime import timedelta
from decimal import Decimal

import pytest

from consult.api.models import ApiToken
from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.extensions import db, limiter
from consult.meetings.models import Meeting
from consult.proposals.models import Proposal
from tests.factories import PASSWORD

API = "/api/v1"


class Caller:
    """A test client speaking to the API with one person's bearer token."""

    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        def call(path, json=None, headers=None, **kw):
            r = getattr(self.client, method)(
                API + path, json=json, headers={**self.headers, **(headers or {})}, **kw
            )
            assert r.mimetype == "application/json" or r.status_code == 204, r.data[:300]
            return r

        return call


def token_for(client, user, **extra) -> str:
    r = client.post(f"{API}/auth/token", json={"login": user.login, "password": PASSWORD, **extra})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["token"]


@pytest.fixture
def as_(client):
    def _as(user) -> Caller:
        return Caller(client, token_for(client, user))

    return _as


def _ok(r, status=200):
    assert r.status_code == status, r.get_json()
    return r.get_json()


def test_golden_path_through_the_api_alone(world, as_):
    leader, member, officer = as_(world.leader), as_(world.member), as_(world.officer)
    co = world.co.id

    me = _ok(leader.get("/me"))
    assert me["memberships"][0]["co_id"] == co and me["memberships"][0]["role"] == "leader"

    held = (utcnow() - timedelta(days=2)).isoformat()
    meeting = _ok(
        leader.post(
            f"/communities/{co}/meetings",
            json={"held_at": held, "women_present": 9, "men_present": 6, "place": "Hall"},
        ),
        201,
    )
    problem = _ok(
        member.post(
            f"/communities/{co}/problems",
            json={"title": "Lane floods", "category": "drainage", "meeting_id": meeting["id"]},
        ),
        201,
    )
    proposal = _ok(
        leader.post(
            f"/communities/{co}/proposals",
            json={
                "title": "Concrete lane",
                "infrastructure_type": "concrete_lane",
                "estimated_cost": "40000000",
                "community_cash": "2000000",
                "community_labour": "4000000",
                "amount_requested": "34000000",
                "problem_ids": [problem["id"]],
            },
        ),
        201,
    )
    assert proposal["amount_requested"] == {"amount": "34000000.00", "currency": "KHR"}
    assert proposal["state"] == "draft" and "open_vote" in proposal["allowed_actions"]
    pid = proposal["id"]
    path = f"/proposals/{pid}"

    closes = (utcnow() + timedelta(days=7)).isoformat()
    p = _ok(leader.post(f"{path}/transitions", json={"action": "open_vote", "closes_at": closes}))
    assert p["state"] == "voting" and p["vote"]["closed_at"] is None
    assert _ok(member.put(f"{path}/vote", json={"choice": "yes"}))["outcome"] == "cast"
    assert _ok(leader.put(f"{path}/vote", json={"choice": "yes"}))["outcome"] == "cast"
    p = _ok(leader.post(f"{path}/transitions", json={"action": "close_vote"}))
    assert p["state"] == "approved" and p["vote"]["result"] == "approved"
    assert p["vote"]["yes"] == 2

    p = _ok(leader.post(f"{path}/transitions", json={"action": "submit"}))
    assert p["state"] == "submitted" and p["latest_version"]["number"] == 1
    assert p["submitted_at"].endswith("+00:00")

    p = _ok(officer.post(f"{path}/transitions", json={"action": "acknowledge", "note": "Seen"}))
    assert p["state"] == "under_review"

    offer = _ok(
        officer.post(
            f"{path}/messages",
            json={
                "kind": "counter_offer",
                "municipal_share": "30000000",
                "community_labour": "8000000",
                "body": "We can pay 30M if the community adds labour.",
            },
        ),
        201,
    )
    assert offer["offer"]["status"] == "pending"
    assert offer["offer"]["municipal_share"] == {"amount": "30000000.00", "currency": "KHR"}

    p = _ok(
        leader.post(
            f"{path}/transitions",
            json={"action": "answer_counter_offer", "offer_id": offer["id"], "answer": "accept"},
        )
    )
    assert p["state"] == "negotiating" and p["latest_version"]["number"] == 2
    assert p["amount_requested"]["amount"] == "30000000.00"

    p = _ok(
        officer.post(
            f"{path}/transitions",
            json={"action": "accept", "version_id": p["latest_version"]["id"]},
        )
    )
    assert p["state"] == "agreed"

    thread = _ok(member.get(f"{path}/messages"))
    kinds = [m["kind"] for m in thread["items"]]
    assert kinds == ["decision", "decision", "counter_offer", "status_note"]
    assert thread["next_cursor"] is None

    db.session.expire_all()
    stored = db.session.get(Proposal, pid)
    assert stored.state == ProposalState.AGREED and len(stored.versions) == 2


def test_implementation_updates_and_stats(world, as_, make):
    p = make.proposal(world.co, state=ProposalState.AGREED)
    p.agreed_at = utcnow() - timedelta(days=3)
    db.session.commit()
    officer, staff, member = as_(world.officer), as_(world.staff), as_(world.member)
    today = utcnow().date().isoformat()
    got = _ok(
        officer.post(
            f"/proposals/{p.id}/transitions", json={"action": "start", "started_on": today}
        )
    )
    assert got["state"] == "in_progress"
    update = _ok(
        officer.post(f"/proposals/{p.id}/updates", json={"progress": 40, "spent": "1000000"}),
        201,
    )
    assert update["spent"] == {"amount": "1000000.00", "currency": "KHR"}
    assert _ok(member.get(f"/proposals/{p.id}/updates"))["items"][0]["progress_percent"] == 40
    # members may not report progress: the page's rule
    assert member.post(f"/proposals/{p.id}/updates", json={"progress": 50}).status_code == 403

    stats = _ok(staff.get("/stats", query_string={"country": "KH"}))
    assert stats["proposals_by_state"]["in_progress"] == 1
    assert member.get("/stats").status_code == 403
    assert _ok(member.get("/stats", query_string={"co_id": world.co.id}))["co_id"] == world.co.id


def test_priority_round_and_ballots(world, as_, make):
    a, b = make.problem(world.co), make.problem(world.co)
    db.session.commit()
    leader, member = as_(world.leader), as_(world.member)
    rnd = _ok(
        leader.post(f"/communities/{world.co.id}/priority-rounds", json={"title": "2027"}), 201
    )
    assert sorted(rnd["problem_ids"]) == sorted([a.id, b.id])
    ballot = {"points": [{"problem_id": a.id, "points": 2}, {"problem_id": b.id, "points": 1}]}
    got = _ok(member.put(f"/priority-rounds/{rnd['id']}/ballot", json=ballot))
    assert got["points"] == {str(a.id): 2, str(b.id): 1}
    assert _ok(member.get(f"/priority-rounds/{rnd['id']}"))["my_ballot"] == got["points"]
    too_many = {"points": [{"problem_id": a.id, "points": 9}]}
    r = member.put(f"/priority-rounds/{rnd['id']}/ballot", json=too_many)
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "invalid"
    assert _ok(leader.post(f"/priority-rounds/{rnd['id']}/close"))["closed_at"]


# --- tokens ---------------------------------------------------------------------------------


def test_tokens_are_hashed_expire_and_can_be_revoked(world, client):
    secret = token_for(client, world.member, days=1, name="phone")
    row = db.session.query(ApiToken).one()
    assert secret not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    member = Caller(client, secret)
    listed = _ok(member.get("/auth/tokens"))
    assert [t["name"] for t in listed] == ["phone"] and "token" not in listed[0]

    # someone else may not revoke it; an administrator may
    other = Caller(client, token_for(client, world.other_member))
    assert other.delete(f"/auth/tokens/{row.id}").status_code == 403
    assert other.get(f"/users/{world.member.id}/tokens").status_code == 403
    admin = Caller(client, token_for(client, world.admin))
    assert len(_ok(admin.get(f"/users/{world.member.id}/tokens"))) == 1
    assert admin.delete(f"/auth/tokens/{row.id}").status_code == 204
    r = member.get("/me")
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")

    # an expired token is refused
    again = token_for(client, world.member)
    db.session.query(ApiToken).filter(ApiToken.revoked_at.is_(None)).update(
        {"expires_at": utcnow() - timedelta(seconds=1)}
    )
    db.session.commit()
    assert Caller(client, again).get("/me").status_code == 401


def test_a_token_shows_when_it_was_last_used(world, client):
    member = Caller(client, token_for(client, world.member))
    assert db.session.query(ApiToken).one().last_used_at is None
    _ok(member.get("/me"))
    assert db.session.query(ApiToken).one().last_used_at is not None


def test_a_draft_is_patched_term_by_term(world, as_, make):
    p = make.proposal(world.co)
    db.session.commit()
    leader = as_(world.leader)
    got = _ok(leader.patch(f"/proposals/{p.id}", json={"timeline": "Before the rains"}))
    assert got["timeline"] == "Before the rains" and got["title"] == p.title
    assert got["estimated_cost"]["amount"] == "40000000.00"
    r = leader.patch(f"/proposals/{p.id}", json={"amount_requested": "1"})
    assert r.status_code == 422 and "estimated_cost" in r.get_json()["error"]["fields"]
    p.state = ProposalState.SUBMITTED
    db.session.commit()
    assert leader.patch(f"/proposals/{p.id}", json={"timeline": "x"}).status_code == 403


def test_disabled_people_lose_their_tokens(world, client):
    member = Caller(client, token_for(client, world.member))
    world.member.active = False
    db.session.commit()
    assert member.get("/me").status_code == 401


def test_wrong_password_is_401_json(world, client):
    r = client.post(f"{API}/auth/token", json={"login": world.member.login, "password": "nope"})
    assert r.status_code == 401 and r.get_json()["error"]["message"]


def test_getting_tokens_is_rate_limited_like_login(database, tmp_path, app, world):
    from tests.conftest import make_test_app

    limited = make_test_app(
        database, tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"
    )
    client = limited.test_client()
    body = {"login": world.member.login, "password": "wrong"}
    try:
        codes = [client.post(f"{API}/auth/token", json=body).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        r = client.post(f"{API}/auth/token", json=body)
        assert r.get_json()["error"]["code"] == "too_many_requests"
    finally:
        limiter.reset()
        limiter.enabled = False  # the limiter is shared: leave it as the other apps have it
        with limited.app_context():
            db.engine.dispose()


def test_the_session_cookie_is_not_a_credential(world, client, login):
    login(world.leader)
    r = client.get(f"{API}/me")
    assert r.status_code == 401


# --- errors ---------------------------------------------------------------------------------


def test_errors_are_json_never_a_page(world, as_):
    member = as_(world.member)
    r = member.get("/nowhere")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = member.get("/proposals/999999")
    assert r.status_code == 404
    r = member.get("/proposals/99999999999999999999")
    assert r.status_code == 404
    r = member.post(f"/communities/{world.co.id}/problems", json={"title": "", "category": "x"})
    body = r.get_json()["error"]
    assert r.status_code == 422 and {"title", "category"} <= set(body["fields"])
    r = member.post(
        f"/communities/{world.other_co.id}/problems", json={"title": "t", "category": "water"}
    )
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    r = member.delete("/me")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"


def test_the_pages_order_404_then_403_then_422(world, as_, make):
    """Load, then ask ``can``, then validate: nobody learns from a 422 about a row they may
    not touch, nor about one that does not exist."""
    p = make.proposal(world.co)
    db.session.commit()
    outsider = as_(world.other_leader)
    nonsense = {"action": "launch_rockets"}
    assert outsider.post(f"/proposals/{p.id}/transitions", json=nonsense).status_code == 403
    assert outsider.post("/proposals/424242/transitions", json=nonsense).status_code == 404
    r = outsider.post(f"/communities/{world.co.id}/problems", json={"title": ""})
    assert r.status_code == 403
    r = as_(world.leader).post(f"/proposals/{p.id}/transitions", json=nonsense)
    assert r.status_code == 422 and "action" in r.get_json()["error"]["fields"]


def test_a_transition_the_workflow_refuses_is_409_with_the_reason(world, as_, make):
    p = make.proposal(world.co)
    db.session.commit()
    r = as_(world.leader).post(f"/proposals/{p.id}/transitions", json={"action": "submit"})
    assert r.status_code == 409 and "draft" in r.get_json()["error"]["message"].lower()


def test_a_rule_a_service_refuses_is_422_on_its_field(world, as_):
    r = as_(world.leader).post(
        f"/communities/{world.co.id}/proposals",
        json={
            "title": "Lane",
            "infrastructure_type": "concrete_lane",
            "estimated_cost": "100",
            "amount_requested": "50",
        },
    )
    assert r.status_code == 422
    assert "estimated_cost" in r.get_json()["error"]["fields"]


def test_amounts_are_decimal_strings_never_floats(world, as_):
    r = as_(world.leader).post(
        f"/communities/{world.co.id}/proposals",
        json={
            "title": "Lane",
            "infrastructure_type": "concrete_lane",
            "estimated_cost": "0.1",
            "amount_requested": "0.105",
        },
    )
    assert r.status_code == 422 and "amount_requested" in r.get_json()["error"]["fields"]


def test_naive_times_are_refused(world, as_):
    r = as_(world.leader).post(
        f"/communities/{world.co.id}/meetings", json={"held_at": "2026-01-05T10:00:00"}
    )
    assert r.status_code == 422 and "held_at" in r.get_json()["error"]["fields"]


# --- pages and idempotency ------------------------------------------------------------------


def test_pages_are_stable_under_inserts(world, as_, make):
    for _ in range(5):
        make.problem(world.co)
    db.session.commit()
    member = as_(world.member)
    path = f"/communities/{world.co.id}/problems"
    first = _ok(member.get(path, query_string={"limit": 2}))
    make.problem(world.co, title="Reported meanwhile")
    db.session.commit()
    second = _ok(member.get(path, query_string={"limit": 2, "cursor": first["next_cursor"]}))
    third = _ok(member.get(path, query_string={"limit": 2, "cursor": second["next_cursor"]}))
    ids = [p["id"] for page in (first, second, third) for p in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and ids == sorted(ids, reverse=True)
    assert third["next_cursor"] is None
    r = member.get(path, query_string={"cursor": "not-a-cursor"})
    assert r.status_code == 400


def test_lists_hold_only_what_the_caller_may_see(world, as_, make):
    make.proposal(world.co, title="Draft, private to the CO")
    make.proposal(world.co, state=ProposalState.SUBMITTED, title="Submitted")
    db.session.commit()
    titles = [
        p["title"]
        for p in _ok(as_(world.officer).get(f"/communities/{world.co.id}/proposals"))["items"]
    ]
    assert titles == ["Submitted"]
    cos = _ok(as_(world.member).get("/communities"))["items"]
    assert [c["id"] for c in cos] == [world.co.id]
    assert len(_ok(as_(world.staff).get("/communities"))["items"]) == 2


def test_idempotency_key_makes_one_record_per_intention(world, as_):
    member = as_(world.member)
    body = {"title": "Broken tap", "category": "water"}
    headers = {"Idempotency-Key": "tap-1"}
    first = member.post(f"/communities/{world.co.id}/problems", json=body, headers=headers)
    again = member.post(f"/communities/{world.co.id}/problems", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = member.post(
        f"/communities/{world.co.id}/problems", json=body, headers={"Idempotency-Key": "tap-2"}
    )
    assert other.get_json()["id"] != first.get_json()["id"]
    # the same key from someone else is their own
    leader = as_(world.leader)
    theirs = leader.post(f"/communities/{world.co.id}/problems", json=body, headers=headers)
    assert theirs.get_json()["id"] not in (first.get_json()["id"], other.get_json()["id"])
    # reused for another kind of request: refused, nothing made
    held = (utcnow() - timedelta(hours=2)).isoformat()
    r = leader.post(f"/communities/{world.co.id}/meetings", json={"held_at": held}, headers=headers)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert db.session.query(Meeting).count() == 0
    # a key that cannot be one
    r = member.post(
        f"/communities/{world.co.id}/problems", json=body, headers={"Idempotency-Key": "x" * 65}
    )
    assert r.status_code == 400


def test_a_refused_request_leaves_its_key_free(world, as_):
    member = as_(world.member)
    headers = {"Idempotency-Key": "retry-me"}
    path = f"/communities/{world.co.id}/problems"
    bad = {"title": "Tap", "category": "water", "latitude": 11.5}  # longitude missing
    assert member.post(path, json=bad, headers=headers).status_code == 422
    good = {"title": "Tap", "category": "water"}
    r = member.post(path, json=good, headers=headers)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers


def test_openapi_document_describes_the_api(client):
    doc = client.get(f"{API}/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/proposals/{proposal_id}/transitions" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_the_same_key_sent_twice_at_once_makes_one_record(app, world):
    """Two requests with one Idempotency-Key racing on a live server: the database's unique
    (user, key) decides, and both answers name the same problem."""
    import threading

    import requests

    from consult.problems.models import Problem
    from tests.live import serving

    login, co_id = world.member.login, world.co.id  # the threads have no app context
    with serving(app) as base:
        token = requests.post(
            f"{base}{API}/auth/token", json={"login": login, "password": PASSWORD}, timeout=30
        ).json()["token"]
        start = threading.Barrier(2)
        answers = []

        def send():
            start.wait()
            answers.append(
                requests.post(
                    f"{base}{API}/communities/{co_id}/problems",
                    json={"title": "Broken tap", "category": "water"},
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "race"},
                    timeout=60,
                )
            )

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [r.status_code for r in answers] == [201, 201]
    assert answers[0].json()["id"] == answers[1].json()["id"]
    db.session.expire_all()
    assert db.session.query(Problem).count() == 1


def _statements(client, url, headers=None) -> int:
    from sqlalchemy import event

    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        r = client.get(url, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert r.status_code == 200, url
    return len(seen)


def test_lists_run_the_same_statements_for_3_rows_or_30(world, client, make):
    from consult.negotiation import service as negotiation

    def grow(n):
        for _ in range(n):
            p = make.proposal(world.co, state=ProposalState.SUBMITTED)
            p.problems = [make.problem(world.co)]
            negotiation.post_message(p, world.officer, negotiation.MessageKind.COMMENT, "Seen")
        db.session.commit()
        return p

    headers = {"Authorization": f"Bearer {token_for(client, world.leader)}"}
    # the token's first use writes its last_used_at: not part of what is measured
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    issued = client.post(
        f"{API}/communities/{world.co.id}/open311-keys", json={"name": "311"}, headers=headers
    )
    p = grow(3)
    urls = [
        f"{API}/communities/{world.co.id}/proposals",
        f"{API}/communities/{world.co.id}/problems",
        f"{API}/proposals/{p.id}/messages",
        f"/open311/v2/requests.json?api_key={issued.get_json()['api_key']}",
    ]
    few = {u: _statements(client, u, headers) for u in urls}
    grow(27)
    many = {u: _statements(client, u, headers) for u in urls}
    assert many == few


def test_riel_amounts_are_whole_through_the_api_too(world, as_, make):
    """The forms refuse riel with cents as typed; the API reaches the same services, which
    refuse the amount itself instead of storing or rounding the cents."""
    p = make.proposal(world.co)
    db.session.commit()
    leader = as_(world.leader)
    r = leader.patch(
        f"/proposals/{p.id}",
        json={"community_cash": "2000000.50", "amount_requested": "33999999.50"},
    )
    assert r.status_code == 422, r.get_json()
    assert "community_cash" in r.get_json()["error"]["fields"]
    db.session.refresh(p)
    assert p.community_cash == Decimal("2000000.00")


def test_amounts_keep_the_decimals_their_currency_takes():
    from consult.core.numbers import stored_amount
    from consult.core.refusal import Refusal

    assert stored_amount("1500.25", "USD") == Decimal("1500.25")
    assert stored_amount(Decimal("40000000"), "KHR") == Decimal("40000000.00")
    for bad, currency in (
        ("1500.255", "USD"),
        ("40000000.5", "KHR"),
        ("12.5", "LAK"),
        ("inf", "USD"),
    ):
        with pytest.raises(Refusal) as refused:
            stored_amount(bad, currency, "spent")
        assert refused.value.field == "spent"
