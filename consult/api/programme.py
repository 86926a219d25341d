"""The API's priority rounds and the programme's indicators."""

from sqlalchemy import select

from consult.api import auth, dump, schemas
from consult.api.common import blueprint, create, guard, keyset_page, load, refusals, require
from consult.communities.models import CommunityOrganisation, Municipality
from consult.core.localtime import local_today
from consult.extensions import db
from consult.monitoring import service as monitoring
from consult.monitoring.scope import days_of, last_12_months, this_year
from consult.priorities import service as priorities
from consult.problems.models import PriorityRound

priorities_bp = blueprint("api_priorities", "Priority rounds and members' ballots.")
stats_bp = blueprint("api_stats", "The programme's indicators, with the dashboard's filters.")


# --- priority rounds ------------------------------------------------------------------------


def _ballot(rnd: PriorityRound) -> dict | None:
    membership = auth.user().membership_in(rnd.co_id)
    return priorities.ballot_of(rnd, membership) if membership is not None else None


@priorities_bp.route("/communities/<int:co_id>/priority-rounds", methods=["GET"])
@guard("view_internal")
@priorities_bp.arguments(schemas.PageArgs, location="query")
@priorities_bp.response(200, schemas.page_of(schemas.PriorityRoundSchema))
def priority_rounds(args, co_id: int):
    co = load(CommunityOrganisation, co_id)
    stmt = select(PriorityRound).where(PriorityRound.co_id == co.id)
    return keyset_page(stmt, PriorityRound.id, args, lambda r: dump.priority_round(r, _ballot(r)))


@priorities_bp.route("/communities/<int:co_id>/priority-rounds", methods=["POST"])
@guard("open_priority_round")
@priorities_bp.arguments(schemas.PriorityRoundIn)
@priorities_bp.response(201, schemas.PriorityRoundSchema)
def open_priority_round(data, co_id: int):
    """Open a priority round over the CO's open problems (its leader).
    Honours ``Idempotency-Key``."""
    co = load(CommunityOrganisation, co_id)
    return create(
        "priority_round",
        PriorityRound,
        lambda: priorities.open_round(co, by=auth.user(), **data),
        lambda r: dump.priority_round(r, _ballot(r)),
    )


@priorities_bp.route("/priority-rounds/<int:round_id>", methods=["GET"])
@priorities_bp.response(200, schemas.PriorityRoundSchema)
def priority_round(round_id: int):
    rnd = load(PriorityRound, round_id)
    require("view", rnd)
    return dump.priority_round(rnd, _ballot(rnd))


@priorities_bp.route("/priority-rounds/<int:round_id>/ballot", methods=["PUT"])
@guard("give_points")
@priorities_bp.arguments(schemas.BallotIn)
@priorities_bp.response(200, schemas.BallotOut)
def give_points(data, round_id: int):
    """Replace the caller's points in the round (a member); all zeros withdraws them."""
    rnd = load(PriorityRound, round_id)
    points: dict[int, int] = {}
    for entry in data["points"]:
        points[entry["problem_id"]] = points.get(entry["problem_id"], 0) + entry["points"]
    with refusals():
        given = priorities.give_points(rnd, auth.user().membership_in(rnd.co_id), points)
    db.session.commit()
    return {"round_id": rnd.id, "points": {str(k): v for k, v in given.items()}}


@priorities_bp.route("/priority-rounds/<int:round_id>/close", methods=["POST"])
@guard("close")
@priorities_bp.response(200, schemas.PriorityRoundSchema)
def close_priority_round(round_id: int):
    """Close the round (the CO's leader)."""
    rnd = load(PriorityRound, round_id)
    with refusals():
        priorities.close_round(rnd, by=auth.user())
    db.session.commit()
    return dump.priority_round(rnd, _ballot(rnd))


# --- stats ----------------------------------------------------------------------------------


@stats_bp.route("/stats", methods=["GET"])
@stats_bp.arguments(schemas.StatsArgs, location="query")
@stats_bp.response(200, schemas.StatsSchema)
def stats(args):
    """The dashboard's indicators for a place (``co_id``, ``municipality_id`` or
    ``country``; none: everywhere) and a period. Staff everywhere; a CO's members and a
    municipality's officers their own summary."""
    if args.get("co_id"):
        require("view_summary", load(CommunityOrganisation, args["co_id"]))
    elif args.get("municipality_id"):
        require("view_summary", load(Municipality, args["municipality_id"]))
    else:
        require("view_dashboard")
    area = {
        "municipality_id": args.get("municipality_id"),
        "country": args.get("country"),
        "co_id": args.get("co_id"),
    }
    days = days_of(**area)  # as the dashboard does: the municipalities' days
    today = local_today(days["timezone"])
    if args["period"] == "custom":
        start, end = args["start"], args["end"]
    elif args["period"] == "last_12_months":
        start, end = last_12_months(today)
    else:
        start, end = this_year(today)
    scope = monitoring.Scope(start, end, **days, **area)
    return dump.stats(monitoring.indicators(scope))
