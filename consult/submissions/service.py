"""The submission-key store: claim a key before creating, record what was created.

Usage in a view (or an API handler), inside the request's one transaction::

    earlier = submissions.claim(user, key, "meeting")
    if earlier is not None:              # sent before: show what it created
        return redirect(url_for("meetings.show", meeting_id=earlier.object_id))
    meeting = log_meeting(...)
    submissions.fulfil(user, key, meeting.id)
    db.session.commit()

If the request fails and rolls back, the claim goes with it and the key can be used again.
"""

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from consult.core.db import utcnow
from consult.extensions import db
from consult.submissions.models import SubmissionKey

#: the longest key accepted; a longer (or empty) key is ignored, as if none had been sent
MAX_KEY = 64


def usable(key: str | None) -> bool:
    """True for a key worth claiming: non-empty, printable and at most ``MAX_KEY`` long."""
    return bool(key) and len(key) <= MAX_KEY and key.isprintable()


def lookup(user_id: int, key: str) -> SubmissionKey | None:
    """The earlier use of ``key`` by ``user_id``, if any."""
    return db.session.scalar(
        select(SubmissionKey).where(SubmissionKey.user_id == user_id, SubmissionKey.key == key)
    )


def claim(user, key: str | None, kind: str, object_id: int | None = None) -> SubmissionKey | None:
    """Claim ``key`` for ``user`` before creating a ``kind`` record.

    Returns None when the key is new (or unusable): go on and create, then :func:`fulfil`;
    or, when the record to show afterwards is known already (a ballot shows its proposal),
    pass it as ``object_id`` and there is nothing to fulfil.
    Returns the earlier :class:`SubmissionKey` when the key was used already: show its
    ``object_id`` instead of creating a second record. The unique (user, key) constraint
    decides (``INSERT … ON CONFLICT DO NOTHING``): a concurrent claim of the same key waits for
    the first to commit, then finds it; if the first rolls back, the second claims the key.
    """
    if not usable(key):
        return None
    table = SubmissionKey.__table__
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    claimed = db.session.execute(
        insert(table)
        .values(user_id=user.id, key=key, kind=kind, object_id=object_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.user_id, table.c.key])
        .returning(table.c.id)
    ).first()
    return None if claimed is not None else lookup(user.id, key)


def fulfil(user, key: str | None, object_id: int) -> None:
    """Record that the claimed ``key`` created the record ``object_id``."""
    if not usable(key):
        return
    db.session.execute(
        update(SubmissionKey)
        .where(SubmissionKey.user_id == user.id, SubmissionKey.key == key)
        .values(object_id=object_id)
        .execution_options(synchronize_session=False)
    )
