from flask import Blueprint

bp = Blueprint("notifications", __name__)

from consult.notifications import routes  # noqa: E402, F401  (routes attach themselves to bp)
