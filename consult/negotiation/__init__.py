from flask import Blueprint

bp = Blueprint("negotiation", __name__)

from consult.negotiation import routes  # noqa: E402, F401  (routes attach themselves to bp)
