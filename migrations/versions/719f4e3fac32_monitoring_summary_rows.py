"""monitoring: summary rows per CO and day, back-filled from the programme

Revision ID: 719f4e3fac32
Revises: b7c1e2d3a4f5
Create Date: 2026-11-30 14:00:45

"""

import sqlalchemy as sa
from alembic import op

import consult.core.db

# revision identifiers, used by Alembic.
revision = "719f4e3fac32"
down_revision = "b7c1e2d3a4f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "monitoring_marks",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("at", consult.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitoring_marks")),
    )
    op.create_table(
        "monitoring_days",
        sa.Column("co_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("amount", consult.core.db.Money(precision=14, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["co_id"],
            ["community_organisations.id"],
            name=op.f("fk_monitoring_days_co_id_community_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_monitoring_days_municipality_id_municipalities"),
        ),
        sa.PrimaryKeyConstraint("co_id", "day", "measure", "key", name=op.f("pk_monitoring_days")),
    )
    with op.batch_alter_table("monitoring_days", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_days_day", ["day", "measure"], unique=False)
        batch_op.create_index(
            "ix_monitoring_days_municipality", ["municipality_id", "day", "measure"], unique=False
        )
    # Back-fill: count what is already there, with the same code that keeps the rows (read
    # from the tables as this revision leaves them; `consult rebuild-monitoring` does the same
    # later, for repair).
    from consult.monitoring import aggregates

    aggregates.rebuild(op.get_bind())


def downgrade():
    # only counts of what the other tables hold: nothing anyone typed is lost
    with op.batch_alter_table("monitoring_days", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_days_municipality")
        batch_op.drop_index("ix_monitoring_days_day")
    op.drop_table("monitoring_days")
    op.drop_table("monitoring_marks")
