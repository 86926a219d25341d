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


def test_a_connection_the_server_wrote_to_while_idle_is_not_handed_out():
    """The server's last message ("terminating connection…") can be there before the end of
    the stream is: a pooled connection with anything to read is replaced, one with nothing
    is handed out (no database needed: a socket pair stands in for the server)."""
    import socket
    from types import SimpleNamespace

    from psycopg.pq import ConnStatus
    from sqlalchemy.exc import DisconnectionError

    from consult import _still_connected

    ours, server = socket.socketpair()
    try:

        class PGconn:
            status = ConnStatus.OK

            @property
            def socket(self):
                return ours.fileno()

            def consume_input(self):
                ours.recv(4096)

        connection = SimpleNamespace(pgconn=PGconn())
        _still_connected(connection, None, None)  # quiet: handed out
        server.send(b"E\x00\x00\x00\x10SFATAL\x00C57P01\x00\x00")  # the message, no end yet
        with pytest.raises(DisconnectionError):
            _still_connected(connection, None, None)
    finally:
        ours.close()
        server.close()
