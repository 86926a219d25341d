from flask import Blueprint

bp = Blueprint("communities", __name__)

from consult.communities import routes  # noqa: E402, F401  (routes attach themselves to bp)
