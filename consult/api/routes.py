"""The views of /api/v1/: load (404) → can (403) → schema-validated input → service →
commit once. No rule is written here: the services and ``can`` decide, as for the pages.
The first two steps are :func:`consult.api.common.check_access`'s, for every route that
declares its ``@guard(action)`` (every writing route must), before the body is read."""

from flask import current_app
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from consult.api import auth, dump, schemas, service
from consult.api.common import blueprint, create, guard, keyset_page, load, refusals, require
from consult.api.models import ApiToken
from consult.api.programme import priorities_bp, stats_bp
from consult.auth import service as accounts
from consult.communities.models import CommunityOrganisation, Settlement
from consult.core.enums import Decision, MessageKind, VoteChoice
from consult.core.permissions import can
from consult.extensions import db, limiter
from consult.implementation import service as implementation
from consult.implementation.models import ImplementationUpdate
from consult.meetings import service as meetings
from consult.meetings.models import Meeting
from consult.negotiation import offers
from consult.negotiation import service as negotiation
from consult.negotiation.models import Message
from consult.problems import service as problems
from consult.problems.models import Problem
from consult.proposals import service as proposals
from consult.proposals.models import Proposal

tokens_bp = blueprint("api_auth", "Bearer tokens: get one, list and revoke them.")
people_bp = blueprint("api_people", "The caller.")
communities_bp = blueprint(
    "api_communities", "Community organisations, their meetings, problems and proposals."
)
proposals_bp = blueprint(
    "api_proposals", "A proposal: its terms, workflow, votes, thread and implementation."
)

BLUEPRINTS = (tokens_bp, people_bp, communities_bp, proposals_bp, priorities_bp, stats_bp)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# --- tokens ---------------------------------------------------------------------------------


@tokens_bp.route("/auth/token", methods=["POST"])
@limiter.limit(_login_limit)
@tokens_bp.arguments(schemas.TokenRequest)
@tokens_bp.response(201, schemas.NewTokenSchema)
@tokens_bp.doc(security=[])
def token(data):
    """Exchange a phone number or e-mail and password for a bearer token.

    Rate-limited like the login page."""
    try:
        user = accounts.authenticate(data["login"], data["password"])
    except accounts.AccountError as error:
        db.session.rollback()
        abort(401, message=str(error))
    with refusals():
        row, secret = service.issue_token(user, days=data["days"], name=data["name"])
    db.session.commit()
    return {**dump.token(row), "token": secret, "token_type": "Bearer"}


@tokens_bp.route("/auth/tokens", methods=["GET"])
@tokens_bp.response(200, schemas.TokenSchema(many=True))
def list_tokens():
    """The caller's tokens, revoked and expired ones included (never the secrets)."""
    return [dump.token(t) for t in service.tokens_of(auth.user())]


@tokens_bp.route("/users/<int:user_id>/tokens", methods=["GET"])
@tokens_bp.response(200, schemas.TokenSchema(many=True))
def user_tokens(user_id: int):
    """Someone's tokens: the person themselves or an administrator."""
    from consult.auth.models import User

    other = load(User, user_id)
    require("manage_tokens", other)
    return [dump.token(t) for t in service.tokens_of(other)]


@tokens_bp.route("/auth/tokens/<int:token_id>", methods=["DELETE"])
@guard("revoke")
@tokens_bp.response(204)
def revoke_token(token_id: int):
    """Revoke a token: its owner or an administrator."""
    row = load(ApiToken, token_id)
    service.revoke_token(row, by=auth.user())
    db.session.commit()


# --- the caller -----------------------------------------------------------------------------


@people_bp.route("/me", methods=["GET"])
@people_bp.response(200, schemas.MeSchema)
def me():
    """Who the token belongs to, and their current memberships."""
    return dump.me(auth.user())


# --- communities ----------------------------------------------------------------------------


@communities_bp.route("/communities", methods=["GET"])
@communities_bp.arguments(schemas.CommunityArgs, location="query")
@communities_bp.response(200, schemas.page_of(schemas.CommunitySchema))
def communities(args):
    """The community organisations the caller may see."""
    stmt = select(CommunityOrganisation).options(
        selectinload(CommunityOrganisation.settlement).selectinload(Settlement.municipality)
    )
    if args.get("municipality_id"):
        stmt = stmt.join(Settlement).where(Settlement.municipality_id == args["municipality_id"])
    user = auth.user()
    return keyset_page(
        stmt,
        CommunityOrganisation.id,
        args,
        dump.community,
        visible=lambda co: can(user, "view", co),
    )


@communities_bp.route("/communities/<int:co_id>", methods=["GET"])
@communities_bp.response(200, schemas.CommunitySchema)
def community(co_id: int):
    co = load(CommunityOrganisation, co_id)
    require("view", co)
    return dump.community(co)


@communities_bp.route("/communities/<int:co_id>/meetings", methods=["GET"])
@guard("view_meetings")
@communities_bp.arguments(schemas.MeetingArgs, location="query")
@communities_bp.response(200, schemas.page_of(schemas.MeetingSchema))
def list_meetings(args, co_id: int):
    co = load(CommunityOrganisation, co_id)
    stmt = select(Meeting).where(Meeting.co_id == co.id).options(selectinload(Meeting.attendance))
    if args.get("kind"):
        stmt = stmt.where(Meeting.kind == args["kind"])
    return keyset_page(stmt, Meeting.id, args, dump.meeting)


@communities_bp.route("/communities/<int:co_id>/meetings", methods=["POST"])
@guard("log_meeting")
@communities_bp.arguments(schemas.MeetingIn)
@communities_bp.response(201, schemas.MeetingSchema)
def log_meeting(data, co_id: int):
    """Log a meeting the CO held (the CO's leader). Honours ``Idempotency-Key``."""
    co = load(CommunityOrganisation, co_id)
    present = data.pop("present")
    return create(
        "meeting",
        Meeting,
        lambda: meetings.log_meeting(co, by=auth.user(), present=present, **data),
        dump.meeting,
    )


@communities_bp.route("/communities/<int:co_id>/problems", methods=["GET"])
@guard("view")
@communities_bp.arguments(schemas.ProblemArgs, location="query")
@communities_bp.response(200, schemas.page_of(schemas.ProblemSchema))
def list_problems(args, co_id: int):
    co = load(CommunityOrganisation, co_id)
    stmt = select(Problem).where(Problem.co_id == co.id)
    for name in ("status", "category"):
        if args.get(name):
            stmt = stmt.where(getattr(Problem, name) == args[name])
    user = auth.user()
    return keyset_page(stmt, Problem.id, args, dump.problem, visible=lambda p: can(user, "view", p))


@communities_bp.route("/communities/<int:co_id>/problems", methods=["POST"])
@guard("report_problem")
@communities_bp.arguments(schemas.ProblemIn)
@communities_bp.response(201, schemas.ProblemSchema)
def report_problem(data, co_id: int):
    """Report a problem for the CO (any member). Honours ``Idempotency-Key``."""
    co = load(CommunityOrganisation, co_id)
    meeting_id = data.pop("meeting_id", None)
    meeting = load(Meeting, meeting_id) if meeting_id else None
    return create(
        "problem",
        Problem,
        lambda: problems.report_problem(co, by=auth.user(), meeting=meeting, **data),
        dump.problem,
    )


@communities_bp.route("/communities/<int:co_id>/proposals", methods=["GET"])
@guard("view")
@communities_bp.arguments(schemas.ProposalArgs, location="query")
@communities_bp.response(200, schemas.page_of(schemas.ProposalSchema))
def list_proposals(args, co_id: int):
    co = load(CommunityOrganisation, co_id)
    stmt = (
        select(Proposal)
        .where(Proposal.co_id == co.id)
        .options(
            selectinload(Proposal.problems),
            selectinload(Proposal.versions),
            selectinload(Proposal.vote_rounds),
        )
    )
    for name in ("state", "infrastructure_type"):
        if args.get(name):
            stmt = stmt.where(getattr(Proposal, name) == args[name])
    user = auth.user()
    return keyset_page(
        stmt,
        Proposal.id,
        args,
        lambda p: dump.proposal(p, user),
        visible=lambda p: can(user, "view", p),
    )


def _problems(ids: list[int]) -> list[Problem]:
    return [load(Problem, i) for i in dict.fromkeys(ids)]


@communities_bp.route("/communities/<int:co_id>/proposals", methods=["POST"])
@guard("draft_proposal")
@communities_bp.arguments(schemas.ProposalIn)
@communities_bp.response(201, schemas.ProposalSchema)
def draft_proposal(data, co_id: int):
    """Draft a proposal (the CO's leader), in the municipality's currency.
    Honours ``Idempotency-Key``."""
    co = load(CommunityOrganisation, co_id)
    answered = _problems(data.pop("problem_ids"))
    user = auth.user()
    return create(
        "proposal",
        Proposal,
        lambda: proposals.draft_proposal(co, user, data, answered),
        lambda p: dump.proposal(p, user),
    )


@communities_bp.route("/communities/<int:co_id>/open311-keys", methods=["GET"])
@communities_bp.response(200, schemas.Open311KeySchema(many=True))
def list_open311_keys(co_id: int):
    """The CO's Open311 keys (its leader)."""
    from consult.open311 import service as open311

    co = load(CommunityOrganisation, co_id)
    require("manage_open311_keys", co)
    return [dump.open311_key(k) for k in open311.keys_of(co)]


@communities_bp.route("/communities/<int:co_id>/open311-keys", methods=["POST"])
@guard("manage_open311_keys")
@communities_bp.arguments(schemas.Open311KeyIn)
@communities_bp.response(201, schemas.Open311KeySchema)
def issue_open311_key(data, co_id: int):
    """Issue an ``api_key`` with which a municipal system files this CO's problems through
    Open311 (the CO's leader). The key is shown once."""
    from consult.open311 import service as open311

    co = load(CommunityOrganisation, co_id)
    key, secret = open311.issue_key(co, by=auth.user(), name=data.get("name"))
    db.session.commit()
    return dump.open311_key(key, secret)


@communities_bp.route("/communities/<int:co_id>/open311-keys/<int:key_id>", methods=["DELETE"])
@guard("manage_open311_keys", "co_id")
@communities_bp.response(204)
def revoke_open311_key(co_id: int, key_id: int):
    from consult.open311 import service as open311
    from consult.open311.models import Open311Key

    co = load(CommunityOrganisation, co_id)
    key = load(Open311Key, key_id)
    if key.co_id != co.id:
        abort(404, message=_("Not found."))
    open311.revoke_key(key, by=auth.user())
    db.session.commit()


# --- proposals ------------------------------------------------------------------------------


@proposals_bp.route("/proposals/<int:proposal_id>", methods=["GET"])
@proposals_bp.response(200, schemas.ProposalSchema)
def proposal(proposal_id: int):
    p = load(Proposal, proposal_id)
    require("view", p)
    return dump.proposal(p, auth.user())


@proposals_bp.route("/proposals/<int:proposal_id>", methods=["PATCH"])
@guard("edit")
@proposals_bp.arguments(schemas.ProposalPatch)
@proposals_bp.response(200, schemas.ProposalSchema)
def update_proposal(data, proposal_id: int):
    """Change a draft's terms (the CO's leader); terms left out keep their value."""
    p = load(Proposal, proposal_id)
    terms = {**p.terms(), **{k: v for k, v in data.items() if k != "problem_ids"}}
    answered = _problems(data["problem_ids"]) if "problem_ids" in data else list(p.problems)
    user = auth.user()
    with refusals():
        proposals.update_proposal(p, user, terms, answered)
    db.session.commit()
    return dump.proposal(p, user)


#: the policy each workflow action asks first, as the pages do: the CO's actions are the
#: leader's ("lead"; whether *now* is the workflow's call, 409), the municipality's are the
#: workflow rule itself
TRANSITION_POLICY = {
    "open_vote": "lead",
    "close_vote": "lead",
    "submit": "lead",
    "revise": "lead",
    "withdraw": "lead",
    "question": "write",
    "acknowledge": "acknowledge",
    "counter_offer": "counter_offer",
    "accept": "accept",
    "decline": "decline",
    "start": "start",
    "complete": "complete",
}


def _needs(data: dict, *names: str) -> None:
    missing = {n: [_("Needed for this action.")] for n in names if data.get(n) is None}
    if missing:
        abort(422, message=_("Some fields are missing."), messages={"json": missing})


def _offer(p: Proposal, offer_id: int) -> Message:
    offer = load(Message, offer_id)
    if offer.proposal_id != p.id:
        abort(404, message=_("Not found."))
    return offer


def _answer_offer(p: Proposal, user, data: dict) -> None:
    _needs(data, "offer_id", "answer")
    offer = _offer(p, data["offer_id"])
    require("answer_offer", offer)
    answer = data["answer"]
    if answer == "accept":
        offers.accept_counter_offer(p, user, offer, data.get("note"))
    elif answer == "reject":
        offers.reject_counter_offer(p, user, offer, data.get("reason"))
    elif answer == "put_to_vote":
        _needs(data, "closes_at")
        offers.put_counter_offer_to_vote(p, user, offer, data["closes_at"])
    else:
        offers.close_offer_vote(p, user, offer)


def _counter_offer(p: Proposal, user, data: dict) -> Message:
    return offers.counter_offer(
        p,
        user,
        municipal_share=data.get("municipal_share"),
        community_cash=data.get("community_cash"),
        community_labour=data.get("community_labour"),
        scope=data.get("scope"),
        timeline=data.get("timeline"),
        body=data.get("body"),
    )


def _transition(p: Proposal, user, action: str, data: dict) -> None:
    if action == "answer_counter_offer":
        return _answer_offer(p, user, data)
    require(TRANSITION_POLICY[action], p)
    if action == "open_vote":
        _needs(data, "closes_at")
        proposals.open_vote(p, user, data["closes_at"])
    elif action == "close_vote":
        proposals.close_vote(p, user)
    elif action == "submit":
        proposals.submit(p, user)
    elif action == "revise":
        proposals.revise(p, user)
    elif action == "withdraw":
        proposals.withdraw(p, user, data.get("reason") or "")
    elif action == "acknowledge":
        negotiation.acknowledge(p, user, data.get("note"))
    elif action == "question":
        negotiation.post_message(p, user, MessageKind.QUESTION, data.get("body"))
    elif action == "counter_offer":
        _counter_offer(p, user, data)
    elif action == "accept":
        _needs(data, "version_id")
        negotiation.accept(p, user, data["version_id"], data.get("note"))
    elif action == "decline":
        negotiation.decline(p, user, data.get("reason"))
    elif action == "start":
        implementation.start_works(p, user, data.get("started_on"))
    elif action == "complete":
        implementation.complete_works(
            p,
            user,
            completed_on=data.get("completed_on"),
            actual_cost=data.get("actual_cost"),
            households_benefited=data.get("households_benefited"),
        )


@proposals_bp.route("/proposals/<int:proposal_id>/transitions", methods=["POST"])
@guard("view")
@proposals_bp.arguments(schemas.TransitionIn)
@proposals_bp.response(200, schemas.ProposalSchema)
def transition(data, proposal_id: int):
    """Take a workflow action (``open_vote``, ``close_vote``, ``submit``, ``acknowledge``,
    ``counter_offer``, ``answer_counter_offer``, ``accept``…). 409 when the workflow does
    not allow it now, with the reason."""
    p = load(Proposal, proposal_id)
    user = auth.user()
    with refusals():
        _transition(p, user, data["action"], data)
    db.session.commit()
    return dump.proposal(p, user)


@proposals_bp.route("/proposals/<int:proposal_id>/vote", methods=["PUT"])
@guard("ballot")
@proposals_bp.arguments(schemas.VoteIn)
@proposals_bp.response(200, schemas.VoteOut)
def vote(data, proposal_id: int):
    """Cast or change the caller's vote (a member) on the proposal, or with ``offer_id`` on a
    counter-offer put to the members."""
    p = load(Proposal, proposal_id)
    user = auth.user()
    choice = VoteChoice(data["choice"])
    with refusals():
        if data.get("offer_id"):
            offer = _offer(p, data["offer_id"])
            require("vote_on_offer", offer)
            outcome = offers.cast_offer_vote(p, user, offer, choice)
        else:
            outcome = proposals.cast_vote(p, user.membership_in(p.co_id), choice)
    db.session.commit()
    return {"outcome": str(outcome), "choice": choice.value, "round_id": outcome.round_id}


@proposals_bp.route("/proposals/<int:proposal_id>/messages", methods=["GET"])
@guard("view_thread")
@proposals_bp.arguments(schemas.PageArgs, location="query")
@proposals_bp.response(200, schemas.page_of(schemas.MessageSchema))
def messages(args, proposal_id: int):
    """The negotiation thread, newest first."""
    p = load(Proposal, proposal_id)
    stmt = (
        select(Message)
        .where(Message.proposal_id == p.id)
        .options(selectinload(Message.author), selectinload(Message.version))
    )
    return keyset_page(stmt, Message.id, args, dump.message)


@proposals_bp.route("/proposals/<int:proposal_id>/messages", methods=["POST"])
@guard("view_thread")
@proposals_bp.arguments(schemas.MessageIn)
@proposals_bp.response(201, schemas.MessageSchema)
def post_message(data, proposal_id: int):
    """Write in the thread: a comment or question, a counter-offer (the officer, with
    terms) or a decision (the officer: accept the latest version, or decline with a
    reason). Honours ``Idempotency-Key``."""
    p = load(Proposal, proposal_id)
    user = auth.user()
    kind = MessageKind(data["kind"])

    def make() -> Message:
        if kind == MessageKind.COUNTER_OFFER:
            require("counter_offer", p)
            return _counter_offer(p, user, data)
        if kind == MessageKind.DECISION:
            decision = Decision(data["decision"])
            require(decision.value, p)
            if decision == Decision.ACCEPT:
                _needs(data, "version_id")
                return negotiation.accept(p, user, data["version_id"], data.get("body"))
            return negotiation.decline(p, user, data.get("body"))
        if kind == MessageKind.STATUS_NOTE:
            abort(422, message=_("Status notes are written by the workflow."))
        require("write", p)
        return negotiation.post_message(p, user, kind, data.get("body"))

    return create("message", Message, make, dump.message)


@proposals_bp.route("/proposals/<int:proposal_id>/updates", methods=["GET"])
@guard("view_implementation")
@proposals_bp.arguments(schemas.PageArgs, location="query")
@proposals_bp.response(200, schemas.page_of(schemas.UpdateSchema))
def updates(args, proposal_id: int):
    """Implementation updates, newest first."""
    p = load(Proposal, proposal_id)
    stmt = (
        select(ImplementationUpdate)
        .where(ImplementationUpdate.proposal_id == p.id)
        .options(selectinload(ImplementationUpdate.author))
    )
    return keyset_page(stmt, ImplementationUpdate.id, args, dump.update)


@proposals_bp.route("/proposals/<int:proposal_id>/updates", methods=["POST"])
@guard("record_progress")
@proposals_bp.arguments(schemas.UpdateIn)
@proposals_bp.response(201, schemas.UpdateSchema)
def post_update(data, proposal_id: int):
    """Report progress on the works (the municipality's officer or staff).
    Honours ``Idempotency-Key``."""
    p = load(Proposal, proposal_id)
    return create(
        "update",
        ImplementationUpdate,
        lambda: implementation.post_update(
            p,
            auth.user(),
            progress=data["progress"],
            note=data.get("note"),
            spent=data.get("spent"),
        ),
        dump.update,
    )
