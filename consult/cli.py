"""The ``consult`` command: ``consult db upgrade``, ``consult seed-demo``, ``consult create-user``,
``consult run`` — the same commands as ``flask --app consult …``."""

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from consult.attachments.cli import clean_uploads, reencode_photos
from consult.core.enums import Gender, UserRole
from consult.extensions import db
from consult.notifications.cli import send_mail
from consult.proposals.cli import close_votes


def _create_app():
    from consult import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def _group():
    """Consult: participatory community consultation for urban upgrading."""


def main() -> None:
    """The ``consult`` console script. Run by hand, so development mode unless told otherwise;
    a WSGI server importing ``create_app`` gets production and must be given SECRET_KEY."""
    os.environ.setdefault("CONSULT_ENV", "development")
    _group()


def register(app) -> None:
    """Attach Consult's own commands to the Flask CLI (``flask --app consult …``)."""
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(send_mail)
    app.cli.add_command(close_votes)
    app.cli.add_command(clean_uploads)
    app.cli.add_command(refresh_monitoring)
    app.cli.add_command(rebuild_monitoring)
    app.cli.add_command(reencode_photos)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("create-user")
@click.option("--name", required=True)
@click.option("--email")
@click.option("--phone")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    default=UserRole.RESIDENT.value,
    show_default=True,
)
@click.option("--municipality", "municipality_name", help="An officer's municipality, by name.")
@click.option("--gender", type=click.Choice([g.value for g in Gender]), default=Gender.OTHER.value)
@click.password_option(help="Asked for when not given.")
@with_appcontext
def create_user(name, email, phone, role, municipality_name, gender, password):
    """Create an account (e.g. the first admin)."""
    from consult.auth import service
    from consult.communities.models import Municipality

    municipality_id = None
    if municipality_name:
        m = db.session.scalar(select(Municipality).where(Municipality.name == municipality_name))
        if m is None:
            raise click.ClickException(f"No municipality named {municipality_name!r}.")
        municipality_id = m.id
    try:
        user = service.create_person(
            name,
            email=email,
            phone=phone,
            role=UserRole(role),
            gender=Gender(gender),
            municipality_id=municipality_id,
            password=password,
        )
    except service.AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.name} ({user.login}).")


@click.command("seed-demo")
@click.option("--reset", is_flag=True, help="Delete all data first.")
@with_appcontext
def seed_demo(reset):
    """Fill the database with a realistic demo and print the demo logins."""
    from consult import demo
    from consult.config import DEVELOPMENT_ENVS

    if current_app.config["CONSULT_ENV"] not in DEVELOPMENT_ENVS:
        raise click.ClickException(
            "seed-demo refuses to run in production: its accounts, an administrator among "
            "them, share a password printed for everyone. Set CONSULT_ENV=demo for a demo site."
        )

    if reset:
        db.drop_all()
        db.create_all()
    created = demo.seed()
    password = current_app.config["DEMO_PASSWORD"]
    click.echo("Demo data " + ("created." if created else "already present."))
    click.echo(f"Open http://127.0.0.1:5000 and log in with password {password!r} as:")
    for label, login in demo.LOGINS:
        click.echo(f"  {label:<44} {login}")


@click.command("refresh-monitoring")
@with_appcontext
def refresh_monitoring():
    """Count the ballots cast since the last run into the dashboard's summary rows, then
    recompute the dashboard's snapshots (the whole programme and each country, this year
    and the last 12 months, in every language) ahead of readers; run it from cron more often
    than MONITORING_SNAPSHOT_SECONDS."""
    from flask_babel import force_locale

    from consult.core.localtime import local_today
    from consult.monitoring import aggregates, service, snapshots
    from consult.monitoring.scope import Scope, days_of, last_12_months, this_year

    counted = aggregates.count_votes(db.session.connection())
    db.session.commit()
    click.echo(f"{counted} ballots counted.")

    _, countries = service.places()
    scopes = []
    # each scope in its own days (the municipalities' zone), as the dashboard asks for it
    for area in [{}, *({"country": c} for c in countries)]:
        days = days_of(**area)
        today = local_today(days["timezone"])
        for start, end in (this_year(today), last_12_months(today)):
            scopes.append(Scope(start, end, **days, **area))
    for locale in current_app.config["LANGUAGES"]:
        with current_app.test_request_context(), force_locale(locale):
            for scope in scopes:
                snapshots.take(scope, refresh=True)
    click.echo(f"{len(scopes) * len(current_app.config['LANGUAGES'])} snapshots refreshed.")


@click.command("rebuild-monitoring")
@with_appcontext
def rebuild_monitoring():
    """Count the dashboard's summary rows again from scratch, from the programme's tables
    (a repair: after a municipality changes its time zone or response target, or rows were
    changed by hand). One transaction; readers see the old rows until it commits."""
    from consult.monitoring import aggregates

    rows = aggregates.rebuild(db.session.connection())
    db.session.commit()
    click.echo(f"{rows} summary rows rebuilt.")


if __name__ == "__main__":  # pragma: no cover
    main()


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path):
    """Copy the database while the app runs (default: instance/backups/consult-<time>)."""
    from consult import backup

    target = path or backup.default_path(current_app.instance_path, db.engine.dialect.name)
    try:
        written = backup.backup(db.engine, target)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Backup written to {written}")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the database without asking.")
@with_appcontext
def restore_command(path, yes):
    """Replace everything in the database with a backup made by `consult backup`."""
    from consult import backup

    if not yes:
        click.confirm(
            "This replaces everything in the database with the backup. Go on?", abort=True
        )
    db.session.remove()
    try:
        backup.restore(db.engine, path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Database restored from {path}")
