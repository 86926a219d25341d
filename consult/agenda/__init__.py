"""What needs a person now: the votes they have not cast, the points they have not given,
the counter-offers waiting for their CO's answer and the meetings coming up. It reads the
features it lists (proposals, priorities, negotiation, meetings) and changes nothing."""

from flask import Blueprint

bp = Blueprint("agenda", __name__)
