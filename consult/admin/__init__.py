from flask import Blueprint

# Routes attach themselves when create_app imports consult.admin.routes.
bp = Blueprint("admin", __name__, url_prefix="/admin")
