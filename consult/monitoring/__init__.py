from flask import Blueprint

bp = Blueprint("monitoring", __name__)

from consult.monitoring import routes  # noqa: E402, F401  (routes attach themselves to bp)
