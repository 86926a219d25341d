"""Serialising writers on one row, the same way on PostgreSQL and SQLite.

Lock order, everywhere (a transaction that needs several takes them in this order, so two
transactions never wait for each other in a circle):

1. the community organisation (``lock_row``: electorate, priority rounds);
2. the proposal (``negotiation.service.lock_proposal``: ``FOR NO KEY UPDATE``, or the UPDATE of a
   workflow transition, which takes the same lock);
3. the vote round (``votes.service.lock_round``; a ballot takes it with a guarded no-op
   UPDATE in ``votes.ballots``) or priority round;
4. rows of the round: ballots, tallies, then audit events and notifications.

Rows that only point at a locked row (a ballot's audit event naming its proposal) take
PostgreSQL's ``KEY SHARE`` lock on it, which ``NO KEY UPDATE`` does not block; nothing takes
``FOR UPDATE`` on a row others point at, so a ballot (round, then a row naming the proposal)
never waits for a close (proposal, then round). ``consult close-votes`` skips rounds someone
else holds instead of waiting for them.
"""

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
