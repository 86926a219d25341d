"""inbox: waiting and overdue counts from an index

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


def downgrade():
    # an index only: nothing is lost by dropping it
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_municipality_awaiting")
