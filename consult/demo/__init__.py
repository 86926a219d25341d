"""A realistic demo programme: two municipalities in two countries, settlements, COs, members,
meetings, problems, proposals in every workflow state and a negotiation under way.

Everything is written by the services themselves, each step on its own date (``now=``), so the
versions, votes, results, threads and audit events are the rules' own and every screen has
something true to show.

The programme itself is in ``programme.py``; the ways of writing it (people and COs, meetings,
problems, proposals in every workflow state, threads, votes) in ``builder.py``.
"""

from sqlalchemy import delete, func, select

from consult.communities.models import Municipality
from consult.demo.programme import Programme
from consult.extensions import db
from consult.monitoring import aggregates
from consult.notifications.models import Notification, OutgoingMail

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
    notices = db.session.scalar(select(func.max(Notification.id))) or 0
    mails = db.session.scalar(select(func.max(OutgoingMail.id))) or 0
    Programme().build()
    # The services told people of each step; a history seeded in one go is no news to anyone
    # (and the notices would all be dated today, without links), so they are not kept.
    db.session.execute(delete(Notification).where(Notification.id > notices))
    db.session.execute(delete(OutgoingMail).where(OutgoingMail.id > mails))
    # The dashboard counts online ballots from cron (refresh-monitoring); the demo's history
    # is counted now, so its dashboard is whole from the first look.
    aggregates.count_votes(db.session.connection())
    db.session.commit()
    return True
