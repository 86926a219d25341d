"""`consult backup` / `consult restore` round trip, and downgrades that would lose data refuse."""

import shutil

import pytest
from flask_migrate import downgrade as migrate_downgrade
from flask_migrate import upgrade as migrate_upgrade
from sqlalchemy import func, select, text

from consult import demo
from consult.auth.models import User
from consult.core.enums import ProblemStatus
from consult.extensions import db
from consult.priorities import service as priorities
from consult.problems.models import Problem
from tests import factories
from tests.conftest import make_test_app


def _needs_pg_tools():
    if db.engine.dialect.name == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")


def test_backup_and_restore_round_trip(app, runner, world, tmp_path):
    _needs_pg_tools()
    target = tmp_path / "saved.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0 and oct(target.stat().st_mode)[-3:] == "600"
    before = db.session.scalar(select(func.count(User.id)))
    leader_id, leader_name = world.leader.id, world.leader.name

    # what happens after the backup: a rename, a new account, a deletion
    world.leader.name = "Changed after the backup"
    factories.user(name="Came later")
    db.session.delete(world.outsider)
    db.session.commit()

    refused = runner.invoke(args=["restore", str(target)], input="n\n")
    assert refused.exit_code != 0  # asks first
    assert db.session.scalar(select(User).where(User.name == "Came later")) is not None

    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert db.session.scalar(select(func.count(User.id))) == before
    assert db.session.get(User, leader_id).name == leader_name
    assert db.session.scalar(select(User).where(User.name == "Came later")) is None


def test_sqlite_backup_holds_what_is_still_in_the_write_ahead_log(app, runner, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    factories.user(name="Only in the WAL")
    db.session.commit()
    with db.engine.connect() as conn:  # a reader keeps the WAL from being checkpointed
        conn.execute(text("BEGIN"))
        conn.execute(text("SELECT COUNT(*) FROM users")).scalar()
        target = tmp_path / "hot.sqlite"
        assert runner.invoke(args=["backup", str(target)]).exit_code == 0
        conn.execute(text("ROLLBACK"))
    import sqlite3

    with sqlite3.connect(target) as copy:
        names = [r[0] for r in copy.execute("SELECT name FROM users")]
    assert "Only in the WAL" in names


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's integrity check")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code != 0


@pytest.fixture
def migrated(empty_database, tmp_path):
    """A database made by the migrations, with the demo and a closed priority round in it."""
    app = make_test_app(empty_database, tmp_path)
    with app.app_context():
        migrate_upgrade()
        demo.seed()
        co = db.session.scalar(
            select(Problem.co_id).where(Problem.status == ProblemStatus.OPEN).limit(1)
        )
        from consult.communities.models import CommunityOrganisation

        co = db.session.get(CommunityOrganisation, co)
        leader = db.session.scalar(select(User).where(User.role == "admin"))
        rnd = priorities.current_round(co.id) or priorities.open_round(
            co, by=leader, title="What first?"
        )
        priorities.close_round(rnd, by=leader)
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def _ranked() -> int:
    return db.session.execute(text("SELECT COUNT(*) FROM priority_round_problems")).scalar()


def test_a_downgrade_that_would_empty_priority_rankings_refuses(migrated):
    ranked = _ranked()
    assert ranked > 0
    db.session.remove()
    with pytest.raises(SystemExit):  # `consult db downgrade` stops with the reason
        migrate_downgrade(revision="99bab8e188a8")
    db.session.remove()
    assert _ranked() == ranked
    migrate_upgrade()  # and back up again, nothing lost
    assert _ranked() == ranked


def test_downgrading_to_an_empty_database_refuses_while_there_is_data(migrated):
    db.session.execute(text("DELETE FROM priority_round_problems"))
    db.session.commit()
    db.session.remove()
    with pytest.raises(SystemExit):
        migrate_downgrade(revision="base")
    db.session.remove()
    assert db.session.scalar(select(func.count(User.id))) > 0
