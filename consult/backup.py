"""Backups of the database while the app runs, and putting one back.

SQLite: the online backup API (``sqlite3.Connection.backup``), which copies a consistent
snapshot including what is still in the write-ahead log — a plain file copy would miss it.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean``; only the schema the app uses
(its ``search_path``), so a shared server's other schemas are never touched.
"""

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine


class BackupError(RuntimeError):
    """A backup or restore that could not be done, with the reason."""


def default_path(folder: str, dialect: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite" if dialect == "sqlite" else "dump"
    return Path(folder) / "backups" / f"consult-{stamp}.{suffix}"


def backup(engine: Engine, target: Path) -> Path:
    """Write a consistent copy of the database to ``target``; returns it."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if engine.dialect.name == "sqlite":
        _sqlite_copy(_sqlite_file(engine), str(target))
    else:
        command = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}"]
        _run([*command, *_pg_args(engine)], engine)
    os.chmod(target, 0o600)  # everyone's data: for the operator's eyes only
    return target


def restore(engine: Engine, source: Path) -> None:
    """Replace the database's content with the backup in ``source``."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    engine.dispose()  # no pooled connection keeps reading the old content
    if engine.dialect.name == "sqlite":
        with sqlite3.connect(source) as check:
            if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not an intact SQLite database.")
        _sqlite_copy(str(source), _sqlite_file(engine))
    else:
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                *_pg_args(engine, restoring=True),
                str(source),
            ],
            engine,
        )
    engine.dispose()


def _sqlite_file(engine: Engine) -> str:
    path = engine.url.database
    if not path or path == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    return path


def _sqlite_copy(source: str, target: str) -> None:
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def _pg_args(engine: Engine, *, restoring: bool = False) -> list[str]:
    """Connection options for pg_dump/pg_restore; the password goes through the environment
    (PGPASSWORD in ``_run``), never the command line other users can see."""
    url = engine.url.set(drivername="postgresql", password=None, query={})
    args = ["--dbname", url.render_as_string(hide_password=False)]
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    if schema and schema != "public" and not restoring:
        args.append(f"--schema={schema}")
    return args


def _run(command: list[str], engine: Engine) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client).")
    url = engine.url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    if "options" in url.query:  # e.g. -csearch_path=…: the same schema as the app
        env["PGOPTIONS"] = str(url.query["options"])
    # a fixed program and arguments made here (no shell); the operator runs this command
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[-2000:]}")
