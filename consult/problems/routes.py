from flask import abort

from consult.problems import bp


@bp.route("/co/<int:co_id>/problems")
def index(co_id: int):
    abort(404)


@bp.route("/co/<int:co_id>/problems/new")
def new(co_id: int):
    abort(404)


@bp.route("/problems/<int:problem_id>")
def show(problem_id: int):
    abort(404)
