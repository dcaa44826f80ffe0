"""Privacy and retention (issue 13): when retention deleted a message's raw bytes or a
document's text (`purged_at`), the tombstones of forgotten people and the installation's
salt for them (`setting`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PURGEABLE = ("rawmessage", "document")


def upgrade() -> None:
    for table in PURGEABLE:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("purged_at", sa.DateTime(), nullable=True))
    op.create_table(
        "tombstone",
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_table(
        "setting",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("setting")
    op.drop_table("tombstone")
    for table in PURGEABLE:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("purged_at")
