"""What reading a document found (format, link targets, pages) is stored with its text, so
a follow-up merges stored text instead of reading every earlier attachment again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch_op:
        batch_op.add_column(
            sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.add_column(sa.Column("links", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("pages", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document") as batch_op:
        batch_op.drop_column("pages")
        batch_op.drop_column("links")
        batch_op.drop_column("format")
