from flask import Blueprint

bp = Blueprint("problems", __name__)

from consult.problems import routes  # noqa: E402, F401  (routes attach themselves to bp)
