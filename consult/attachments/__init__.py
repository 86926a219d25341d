from flask import Blueprint

bp = Blueprint("attachments", __name__)

from consult.attachments import routes  # noqa: E402, F401  (routes attach themselves to bp)
