"""scale: indexes matching the keyset orders of long lists

Revision ID: a7c3e5d10b42
Revises: f298166f81bf
Create Date: 2026-11-30 10:50:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e5d10b42"
down_revision = "f298166f81bf"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_proposals_municipality_submitted",
            ["municipality_id", "submitted_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_proposals_co_created", ["co_id", "created_at", "id"], unique=False)
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("ix_problems_co_status")
        batch_op.create_index(
            "ix_problems_co_status_created", ["co_id", "status", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_problems_co_created", ["co_id", "created_at", "id"], unique=False)
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_co_held", ["co_id", "held_at", "id"], unique=False)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_proposal_created")
        batch_op.create_index(
            "ix_messages_proposal_order", ["proposal_id", "created_at", "id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_proposal_order")
        batch_op.create_index(
            "ix_messages_proposal_created", ["proposal_id", "created_at"], unique=False
        )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index("ix_meetings_co_held")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("ix_problems_co_created")
        batch_op.drop_index("ix_problems_co_status_created")
        batch_op.create_index("ix_problems_co_status", ["co_id", "status"], unique=False)
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_proposals_co_created")
        batch_op.drop_index("ix_proposals_municipality_submitted")
