"""photos re-encoded with thumbnails: sizes, thumbnail and kept-original names

Revision ID: c4d1e2f3a5b6
Revises: a7c3e5d10b42
Create Date: 2026-11-30 10:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4d1e2f3a5b6'
down_revision = 'a7c3e5d10b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumb_name', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('thumb_width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('thumb_height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('original_stored_name', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_attachments_thumb_name'), ['thumb_name'])
        batch_op.create_unique_constraint(
            batch_op.f('uq_attachments_original_stored_name'), ['original_stored_name']
        )


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_attachments_original_stored_name'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_attachments_thumb_name'), type_='unique')
        batch_op.drop_column('original_stored_name')
        batch_op.drop_column('thumb_height')
        batch_op.drop_column('thumb_width')
        batch_op.drop_column('thumb_name')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
