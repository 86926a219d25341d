"""``consult close-votes``: fix the result of every vote whose time is up (run it from cron)."""

import click
from flask.cli import with_appcontext

from consult.extensions import db


@click.command("close-votes")
@with_appcontext
def close_votes():
    """Close the proposal votes whose closing time has passed.

    Each vote in its own transaction: one that fails is reported and the others are kept.
    A vote someone else is closing at this moment (a leader by hand, an overlapping run from
    cron) is skipped without waiting, so several runs may overlap."""
    from sqlalchemy.exc import SQLAlchemyError

    from consult.core.db import utcnow
    from consult.core.refusal import Refusal
    from consult.proposals import service

    now = utcnow()
    closed = skipped = failed = 0
    for proposal_id in service.due_votes(now=now):
        try:
            rnd = service.close_due_vote(proposal_id, now=now)
            db.session.commit()
        except (Refusal, SQLAlchemyError) as error:
            db.session.rollback()
            failed += 1
            click.echo(f"Could not close the vote on proposal {proposal_id}: {error}", err=True)
            continue
        if rnd is None:
            skipped += 1
            continue
        closed += 1
        click.echo(f"Closed the vote on proposal {rnd.proposal_id}: {rnd.result.value}.")
    click.echo(
        f"{closed} vote(s) closed, {skipped} skipped (closed or being closed elsewhere), "
        f"{failed} failed."
    )
    if failed:
        raise SystemExit(1)
