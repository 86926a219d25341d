from flask import abort

from consult.meetings import bp


@bp.route("/co/<int:co_id>/meetings")
def index(co_id: int):
    abort(404)


@bp.route("/co/<int:co_id>/meetings/new")
def new(co_id: int):
    abort(404)


@bp.route("/meetings/<int:meeting_id>")
def show(meeting_id: int):
    abort(404)
