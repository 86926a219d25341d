"""``consult send-mail``: the worker that empties the e-mail outbox."""

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from consult.extensions import db
from consult.notifications import mail


@click.command("send-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--interval",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Seconds to wait between two looks at the outbox.",
)
@with_appcontext
def send_mail(once: bool, interval: int):
    """Send queued e-mail notifications over SMTP (SMTP_HOST, SMTP_PORT…), with retries."""
    if not current_app.config.get("SMTP_HOST"):
        raise click.ClickException("SMTP_HOST is not set: there is no server to send mail to.")
    if once:
        _report(mail.send_due())
        return
    click.echo(f"Sending mail every {interval} s; stop with Ctrl-C.")
    try:
        while True:
            try:
                report = mail.send_due()
            except OperationalError as error:  # the database is away: try again later
                db.session.rollback()
                click.echo(f"Database unavailable: {error.orig}", err=True)
            else:
                if report.sent or report.failed:
                    _report(report)
            db.session.remove()
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("Stopped.")


def _report(report: mail.Report) -> None:
    click.echo(f"Sent {report.sent}, failed {report.failed} (will be retried).")
