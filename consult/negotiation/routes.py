from flask import abort

from consult.negotiation import bp


@bp.route("/municipalities/<int:municipality_id>/inbox")
def inbox(municipality_id: int):
    abort(404)


@bp.route("/proposals/<int:proposal_id>/thread")
def thread(proposal_id: int):
    abort(404)
