"""``consult clean-uploads``: files without a record removed, records without a file reported.
``consult reencode-photos``: photos stored as sent (before re-encoding) re-encoded."""

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


@click.command("reencode-photos")
@with_appcontext
def reencode_photos():
    """Re-encode the photos stored as they were sent, before uploads were re-encoded: their
    location and camera data go, they turn upright and get a thumbnail. Run it once after
    upgrading; running it again does nothing."""
    from consult.attachments import service
    from consult.attachments.models import Attachment
    from consult.attachments.storage import storage
    from consult.extensions import db

    done = failed = 0
    for attachment_id in [a.id for a in service.photos_to_reencode()]:
        attachment = db.session.get(Attachment, attachment_id)
        try:
            old_name = service.reencode_stored(attachment)
        except service.UploadRefused as refused:
            db.session.rollback()
            failed += 1
            click.echo(f"Attachment {attachment_id}: left as it is: {refused}")
            continue
        db.session.commit()
        if old_name:
            storage().delete(old_name)
        done += 1
    click.echo(f"{done} photo(s) re-encoded; {failed} left as they were.")
