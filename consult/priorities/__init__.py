from flask import Blueprint

bp = Blueprint("priorities", __name__)

from consult.priorities import routes  # noqa: E402, F401  (routes attach themselves to bp)
