"""``consult clean-uploads``: files without a record removed, records without a file reported."""

from datetime import timedelta

import click
from flask.cli import with_appcontext


@click.command("clean-uploads")
@click.option("--dry-run", is_flag=True, help="Only list the files that would be removed.")
@click.option(
    "--grace-minutes",
    default=60,
    show_default=True,
    type=click.IntRange(min=0),
    help="Leave younger files alone: a request may still be saving them.",
)
@with_appcontext
def clean_uploads(dry_run: bool, grace_minutes: int):
    """Remove stored files that no attachment names (left by a process stopped between
    writing a file and saving its record) and report attachments whose file is missing."""
    from consult.attachments import service

    audit = service.audit_storage(grace=timedelta(minutes=grace_minutes), remove=not dry_run)
    verb = "Would remove" if dry_run else "Removed"
    for name in audit.orphans:
        click.echo(f"{verb} {name}: no attachment names it.")
    for attachment_id, name in audit.missing:
        click.echo(f"Attachment {attachment_id}: its file {name} is missing.")
    click.echo(
        f"{len(audit.orphans)} file(s) without an attachment {verb.lower()}; "
        f"{len(audit.missing)} file(s) of attachments missing."
    )
