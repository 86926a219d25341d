"""``consult close-votes``: fix the result of every vote whose time is up (run it from cron)."""

import click
from flask.cli import with_appcontext

from consult.extensions import db


@click.command("close-votes")
@with_appcontext
def close_votes():
    """Close the proposal votes whose closing time has passed."""
    from consult.proposals import service

    closed = service.close_due_votes()
    db.session.commit()
    for rnd in closed:
        click.echo(f"Closed the vote on proposal {rnd.proposal_id}: {rnd.result.value}.")
    click.echo(f"{len(closed)} vote(s) closed.")
