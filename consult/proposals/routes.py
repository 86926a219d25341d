from flask import abort

from consult.proposals import bp


@bp.route("/co/<int:co_id>/proposals/new")
def new(co_id: int):
    abort(404)


@bp.route("/proposals/<int:proposal_id>")
def show(proposal_id: int):
    abort(404)
