from flask import Blueprint

bp = Blueprint("proposals", __name__)

from consult.proposals import routes  # noqa: E402, F401  (routes attach themselves to bp)
