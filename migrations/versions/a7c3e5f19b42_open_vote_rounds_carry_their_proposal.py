"""open vote rounds: the index carries each round's proposal

Revision ID: a7c3e5f19b42
Revises: e4a9c2b7d815
Create Date: 2026-11-30 20:10:00

"""

from alembic import op
from sqlalchemy import text

# revision identifiers, used by Alembic.
revision = "a7c3e5f19b42"
down_revision = "e4a9c2b7d815"
branch_labels = None
depends_on = None

OPEN = "closed_at IS NULL"


def _open_rounds_index(include: list[str]) -> None:
    with op.batch_alter_table("vote_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_vote_rounds_open")
        batch_op.create_index(
            "ix_vote_rounds_open",
            ["closes_at"],
            unique=False,
            postgresql_include=include,
            postgresql_where=text(OPEN),
            sqlite_where=text(OPEN),
        )


def upgrade():
    # PostgreSQL reads an open round's proposal from the index alone (SQLite has no INCLUDE)
    _open_rounds_index(["proposal_id"])


def downgrade():
    # an index only: nothing is lost
    _open_rounds_index([])
