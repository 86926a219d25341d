"""Versions side by side, and the printable dossier of one version (for paper files)."""

from flask import abort, render_template, request
from flask_login import login_required
from sqlalchemy import select

from consult.core.enums import VoteChoice, VoteResult
from consult.core.forms import load
from consult.extensions import db
from consult.negotiation import service as negotiation
from consult.proposals import bp
from consult.proposals.models import Proposal, ProposalVersion
from consult.votes import service as votes


def _version(proposal: Proposal, number: int | None) -> ProposalVersion:
    if number is None:
        abort(404)
    return db.first_or_404(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id, ProposalVersion.number == number
        )
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
    a = _version(proposal, request.args.get("a", a_default, type=int))
    b = _version(proposal, request.args.get("b", b_default, type=int))
    rows = negotiation.compare_terms(a.terms(), b.terms())
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
    rnd = negotiation.approving_round(v)
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
