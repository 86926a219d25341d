from flask import Blueprint

bp = Blueprint("auth", __name__)

from consult.auth import routes  # noqa: E402, F401  (routes attach themselves to bp)
