"""Versions side by side, and the printable dossier of one version (for paper files)."""

from flask import abort, render_template, request
from flask_login import login_required
from sqlalchemy import select

from consult.core.enums import VoteChoice, VoteResult, VoteSubject
from consult.core.forms import load
from consult.core.ids import id_arg
from consult.extensions import db
from consult.proposals import bp
from consult.proposals.models import Proposal, ProposalVersion
from consult.proposals.terms import compare_terms
from consult.votes import service as votes
from consult.votes.models import VoteRound


def _version(proposal: Proposal, number: int | None) -> ProposalVersion:
    if number is None:
        abort(404)
    return db.first_or_404(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
    )


def approving_round(version: ProposalVersion) -> VoteRound | None:
    """The member vote that approved ``version``: the vote on the counter-offer it came from,
    else the last approved vote on the proposal before the version was made."""
    offer = version.accepted_offer  # declared by negotiation on Message.resulting_version
    offer_id = offer.id if offer is not None else None
    if offer_id is not None:
        rnd = db.session.scalar(
            select(VoteRound)
            .where(VoteRound.counter_offer_id == offer_id, VoteRound.result == VoteResult.APPROVED)
            .order_by(VoteRound.id.desc())
            .limit(1)
        )
        if rnd is not None:
            return rnd
    return db.session.scalar(
        select(VoteRound)
        .where(
            VoteRound.proposal_id == version.proposal_id,
            VoteRound.subject == VoteSubject.PROPOSAL,
            VoteRound.result == VoteResult.APPROVED,
            VoteRound.closed_at <= version.created_at,
        )
        .order_by(VoteRound.closed_at.desc())
        .limit(1)
    )


@bp.route("/proposals/<int:proposal_id>/versions/compare")
@login_required
def compare_versions(proposal_id: int):
    """Two versions' terms side by side (``?a=1&b=2``), changed rows marked."""
    proposal = load(Proposal, proposal_id, "view")
    numbers = [v.number for v in proposal.versions]
    if not numbers:
        abort(404)
    # Without a choice: the last two versions (or the only one against itself).
    b_default = numbers[-1]
    a_default = numbers[-2] if len(numbers) > 1 else numbers[-1]
    a = _version(proposal, request.args.get("a", a_default, type=id_arg))
    b = _version(proposal, request.args.get("b", b_default, type=id_arg))
    rows = compare_terms(a.terms(), b.terms())
    return render_template(
        "proposals/compare.html",
        p=proposal,
        a=a,
        b=b,
        rows=rows,
        changed=sum(1 for r in rows if r.changed),
        numbers=numbers,
    )


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>/dossier")
@login_required
def dossier(proposal_id: int, number: int):
    """One version on one printable page: who, where, the terms, the problems, the vote that
    approved it, the agreement and room for signatures."""
    proposal = load(Proposal, proposal_id, "view")
    v = _version(proposal, number)
    rnd = approving_round(v)
    return render_template(
        "proposals/dossier.html",
        p=proposal,
        v=v,
        co=proposal.organisation,
        rnd=rnd,
        b=votes.breakdown(rnd) if rnd is not None else None,
        choices=list(VoteChoice),
        genders=votes.GENDERS,
        results=VoteResult,
    )
