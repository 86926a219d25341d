"""A realistic demo programme: two municipalities in two countries, settlements, COs, members,
meetings, problems, proposals in every workflow state and a negotiation under way.

Everything is written as the services would leave it (versions, vote counts equal to the votes,
audit events), so every screen has something true to show.

The programme itself is in ``programme.py``; the ways of writing it (people and COs, meetings,
problems, proposals in every workflow state, threads, votes) in ``builder.py``.
"""

from sqlalchemy import func, select

from consult.communities.models import Municipality
from consult.demo.programme import Programme
from consult.extensions import db

#: (who, login) printed by ``consult seed-demo``; all share ``DEMO_PASSWORD``.
LOGINS = [
    ("CO leader, Boeung Trabek (phone)", "012 000 001"),
    ("CO member, Boeung Trabek (phone)", "012 000 002"),
    ("CO leader, Ban Dongmieng, Vientiane (phone)", "020 000 001"),
    ("Municipal officer, Phnom Penh", "officer@phnompenh.example"),
    ("Municipal officer, Vientiane", "officer@vientiane.example"),
    ("Programme staff", "staff@consult.example"),
    ("Administrator", "admin@consult.example"),
]


def seed() -> bool:
    """Create the demo programme unless there is already data; True when created."""
    if db.session.scalar(select(func.count(Municipality.id))):
        return False
    Programme().build()
    db.session.commit()
    return True
