"""inbox: waiting and overdue counts, and its version, from indexes

Revision ID: e4a9c2b7d815
Revises: d3e8f1a2b4c6
Create Date: 2026-11-30 17:10:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "e4a9c2b7d815"
down_revision = "d3e8f1a2b4c6"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proposals_municipality_awaiting",
            ["municipality_id", "first_response_at", "state", "submitted_at"],
            unique=False,
        )
    # (settlement, id) replaces (settlement): the same look-ups, and a CO's id from the index
    with op.batch_alter_table("community_organisations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_community_organisations_settlement_co", ["settlement_id", "id"], unique=False
        )
        batch_op.drop_index("ix_community_organisations_settlement_id")


def downgrade():
    # indexes only: nothing is lost by dropping them
    with op.batch_alter_table("community_organisations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_community_organisations_settlement_id", ["settlement_id"], unique=False
        )
        batch_op.drop_index("ix_community_organisations_settlement_co")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_municipality_awaiting")
