"""Open311 GeoReport v2 for problems, at /open311/v2/, in JSON and XML."""

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
