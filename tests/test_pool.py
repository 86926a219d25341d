"""A pooled PostgreSQL connection the server closed (a restart, a terminated backend) is
replaced at checkout without a round trip, so no request fails with it."""

import time

import pytest
from sqlalchemy import create_engine, text

from consult.extensions import db


def test_a_connection_the_server_closed_is_replaced_without_a_failed_request(
    app, world, client, login
):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: SQLite has no server to close a connection")
    login(world.leader)
    url = f"/co/{world.co.id}"
    db.session.remove()
    db.engine.dispose()  # one connection in the pool, the one whose backend goes away
    with db.engine.connect() as conn:
        pid = conn.connection.dbapi_connection.info.backend_pid
    other = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    try:
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
            # pg_terminate_backend only signals: wait until the backend has gone (and so has
            # closed its end), which is the state this test is about
            gone = text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid")
            for _ in range(100):
                if conn.execute(gone, {"pid": pid}).scalar():
                    break
                time.sleep(0.05)
    finally:
        other.dispose()
    assert client.get(url).status_code == 200
    with db.engine.connect() as conn:
        assert conn.connection.dbapi_connection.info.backend_pid != pid
