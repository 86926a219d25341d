"""Serialising writers on one row, the same way on PostgreSQL and SQLite."""

from sqlalchemy import update

from consult.extensions import db


def lock_row(model, row_id: int, *conditions) -> bool:
    """Take the write lock that makes the next reads and writes exact; False if no row matched.

    A write that changes nothing (``SET id = id``) is enough: on PostgreSQL it holds the row's
    lock until commit, so a concurrent writer of the same row waits and then re-checks
    ``conditions`` against the committed row; on SQLite it is the transaction's first write,
    which takes the database's single write lock (waiting for the busy timeout) and keeps it
    until commit. Either way nobody else can change what we read next before we commit.
    """
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, *conditions)
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
