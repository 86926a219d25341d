from flask import Blueprint

bp = Blueprint("meetings", __name__)

from consult.meetings import routes  # noqa: E402, F401  (routes attach themselves to bp)
