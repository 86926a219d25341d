"""session tokens: ending every session of an account

Revision ID: b7c1e2d3a4f5
Revises: 9f51396a55e7
Create Date: 2026-11-30 10:50:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7c1e2d3a4f5"
down_revision = "9f51396a55e7"
branch_labels = None
depends_on = None


def upgrade():
    # a plain ADD COLUMN (no table copy, which SQLite's foreign keys would refuse with data in
    # the tables); the empty default is replaced by a token for each account just below
    op.add_column(
        "users",
        sa.Column("session_token", sa.String(length=32), nullable=False, server_default=""),
    )
    # every existing account gets its own token (sessions from before simply end once)
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    conn = op.get_bind()
    for (user_id,) in conn.execute(sa.select(users.c.id)).all():
        conn.execute(
            users.update().where(users.c.id == user_id).values(session_token=secrets.token_hex(16))
        )


def downgrade():
    # only a token: nothing anyone typed is lost
    op.drop_column("users", "session_token")
