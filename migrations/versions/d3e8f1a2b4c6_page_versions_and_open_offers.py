"""page versions: audit events by CO; open counter-offers; open vote rounds

Revision ID: d3e8f1a2b4c6
Revises: 719f4e3fac32
Create Date: 2026-11-30 14:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d3e8f1a2b4c6"
down_revision = "719f4e3fac32"
branch_labels = None
depends_on = None

OPEN_OFFERS = "offer_status IN ('pending', 'in_vote')"
OPEN_ROUNDS = "closed_at IS NULL"


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_co", ["co_id", "id"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_open_offers",
            ["proposal_id"],
            unique=False,
            postgresql_where=sa.text(OPEN_OFFERS),
            sqlite_where=sa.text(OPEN_OFFERS),
        )
    with op.batch_alter_table("vote_rounds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_vote_rounds_open",
            ["closes_at"],
            unique=False,
            postgresql_where=sa.text(OPEN_ROUNDS),
            sqlite_where=sa.text(OPEN_ROUNDS),
        )


def downgrade():
    # indexes only: nothing is lost by dropping them
    with op.batch_alter_table("vote_rounds", schema=None) as batch_op:
        batch_op.drop_index("ix_vote_rounds_open")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_open_offers")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_co")
