"""Rows as the API shows them (the schemas in ``schemas.py`` describe these dicts)."""

from consult.api.schemas import iso, money
from consult.core.permissions import can
from consult.proposals import workflow


def token(t) -> dict:
    return {
        "id": t.id,
        "user_id": t.user_id,
        "prefix": t.prefix,
        "name": t.name,
        "created_at": iso(t.created_at),
        "expires_at": iso(t.expires_at),
        "last_used_at": iso(t.last_used_at),
        "revoked_at": iso(t.revoked_at),
    }


def me(user) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "phone": user.phone,
        "role": user.role.value,
        "language": user.language,
        "municipality_id": user.municipality_id,
        "memberships": [
            {
                "id": m.id,
                "co_id": m.co_id,
                "co_name": m.organisation.name,
                "role": m.role.value,
                "joined_on": m.joined_on,
            }
            for m in user.current_memberships()
        ],
    }


def person(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user is not None else None


def community(co) -> dict:
    m = co.municipality
    return {
        "id": co.id,
        "name": co.name,
        "status": co.status.value,
        "formed_on": co.formed_on,
        "settlement_id": co.settlement_id,
        "settlement_name": co.settlement.name,
        "municipality": {
            "id": m.id,
            "name": m.name,
            "country": m.country,
            "currency": m.currency,
            "timezone": m.timezone,
        },
        "quorum_percent": co.quorum_percent,
        "threshold_percent": co.threshold_percent,
        "priority_points": co.priority_points,
    }


def meeting(m) -> dict:
    return {
        "id": m.id,
        "co_id": m.co_id,
        "kind": m.kind.value,
        "held_at": iso(m.held_at),
        "place": m.place,
        "agenda": m.agenda,
        "minutes": m.minutes,
        "decisions": m.decisions,
        "women_present": m.women_present,
        "men_present": m.men_present,
        "other_present": m.other_present,
        "members_present": sorted(a.membership_id for a in m.attendance),
        "created_at": iso(m.created_at),
    }


def problem(p) -> dict:
    return {
        "id": p.id,
        "co_id": p.co_id,
        "meeting_id": p.meeting_id,
        "title": p.title,
        "category": p.category.value,
        "description": p.description,
        "location": p.location,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "households_affected": p.households_affected,
        "status": p.status.value,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
    }


def vote_round(rnd, user) -> dict | None:
    if rnd is None:
        return None
    show = rnd.closed_at is not None or can(user, "view_vote_counts", rnd.proposal)
    return {
        "id": rnd.id,
        "subject": rnd.subject.value,
        "counter_offer_id": rnd.counter_offer_id,
        "opened_at": iso(rnd.opened_at),
        "closes_at": iso(rnd.closes_at),
        "closed_at": iso(rnd.closed_at),
        "result": rnd.result.value if rnd.result else None,
        "members_at_close": rnd.members_at_close,
        "yes": rnd.yes_count if show else None,
        "no": rnd.no_count if show else None,
        "abstain": rnd.abstain_count if show else None,
    }


def _version(v) -> dict | None:
    return {"id": v.id, "number": v.number} if v is not None else None


def proposal(p, user) -> dict:
    from consult.core.enums import VoteSubject

    rounds = [r for r in p.vote_rounds if r.subject == VoteSubject.PROPOSAL]
    c = p.currency
    return {
        "id": p.id,
        "co_id": p.co_id,
        "municipality_id": p.municipality_id,
        "state": p.state.value,
        "title": p.title,
        "description": p.description,
        "infrastructure_type": p.infrastructure_type.value,
        "location": p.location,
        "currency": c,
        "estimated_cost": money(p.estimated_cost, c),
        "community_cash": money(p.community_cash, c),
        "community_labour": money(p.community_labour, c),
        "amount_requested": money(p.amount_requested, c),
        "households_benefiting": p.households_benefiting,
        "timeline": p.timeline,
        "problem_ids": sorted(pr.id for pr in p.problems),
        "latest_version": _version(p.latest_version),
        "vote": vote_round(rounds[-1], user) if rounds else None,
        "allowed_actions": [t.action for t in workflow.TRANSITIONS if can(user, t.action, p)],
        "progress_percent": p.progress_percent,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "submitted_at": iso(p.submitted_at),
        "agreed_at": iso(p.agreed_at),
    }


def message(m) -> dict:
    c = m.proposal.currency
    offer = None
    if m.offer_status is not None:
        offer = {
            "status": m.offer_status.value,
            "municipal_share": money(m.offer_municipal_share, c),
            "community_cash": money(m.offer_community_cash, c),
            "community_labour": money(m.offer_community_labour, c),
            "scope": m.offer_scope,
            "timeline": m.offer_timeline,
            "resulting_version_id": m.resulting_version_id,
        }
    return {
        "id": m.id,
        "proposal_id": m.proposal_id,
        "kind": m.kind.value,
        "side": m.side.value,
        "author": person(m.author),
        "body": m.body,
        "version": _version(m.version),
        "decision": m.decision.value if m.decision else None,
        "offer": offer,
        "created_at": iso(m.created_at),
    }


def priority_round(rnd, ballot: dict | None) -> dict:
    return {
        "id": rnd.id,
        "co_id": rnd.co_id,
        "title": rnd.title,
        "points_per_member": rnd.points_per_member,
        "max_per_problem": rnd.max_per_problem,
        "closes_at": iso(rnd.closes_at),
        "closed_at": iso(rnd.closed_at),
        "problem_ids": [p.id for p in rnd.problems],
        "my_ballot": {str(k): v for k, v in ballot.items()} if ballot is not None else None,
    }


def update(u) -> dict:
    return {
        "id": u.id,
        "proposal_id": u.proposal_id,
        "author": person(u.author),
        "progress_percent": u.progress_percent,
        "note": u.note,
        "spent": money(u.spent, u.proposal.currency),
        "created_at": iso(u.created_at),
    }


def open311_key(k, secret: str | None = None) -> dict:
    out = {
        "id": k.id,
        "co_id": k.co_id,
        "prefix": k.prefix,
        "name": k.name,
        "created_at": iso(k.created_at),
        "revoked_at": iso(k.revoked_at),
    }
    if secret:
        out["api_key"] = secret
    return out


def stats(ind) -> dict:
    """The dashboard's indicators; money as decimal strings with their currency."""
    s = ind.scope
    a = ind.attendance
    return {
        "start": s.start,
        "end": s.end,
        "municipality_id": s.municipality_id,
        "country": s.country,
        "co_id": s.co_id,
        "cos_formed": ind.cos_formed,
        "meetings": {
            "meetings": a.meetings,
            "women": a.women,
            "men": a.men,
            "other": a.other,
            "people": a.people,
        },
        "votes_by_gender": {g.value: n for g, n in ind.votes.items()},
        "problems": [
            {
                "category": r.category.value,
                "by_status": {st.value: n for st, n in r.by_status.items()},
                "total": r.total,
            }
            for r in ind.problems
        ],
        "proposals_by_state": {r.state.value: r.count for r in ind.proposals},
        "response": [
            {
                "municipality_id": r.municipality_id,
                "name": r.name,
                "target_days": r.target_days,
                "submitted": r.submitted,
                "answered": r.answered,
                "median_days": r.median_days,
                "within_target": r.within_target,
            }
            for r in ind.response
        ],
        "funding": [
            {
                "proposals": r.proposals,
                "municipal": money(r.municipal, r.currency),
                "community": money(r.community, r.currency),
            }
            for r in ind.funding
        ],
        "infrastructure": [
            {
                "type": r.type.value,
                "completed": r.completed,
                "families": r.families,
                "estimated": r.estimated,
            }
            for r in ind.infrastructure
        ],
        "settlements_improved": [
            {"year": r.year, "improved": r.improved, "target": r.target} for r in ind.settlements
        ],
        "families_benefited": ind.families_benefited,
    }
