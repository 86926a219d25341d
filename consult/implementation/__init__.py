from flask import Blueprint

# Routes attach themselves when create_app imports consult.implementation.routes; importing this
# package (e.g. for its models) does not load any view, so there are no import cycles.
bp = Blueprint("implementation", __name__)
