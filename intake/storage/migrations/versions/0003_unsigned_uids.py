"""IMAP UIDVALIDITY and UIDs are unsigned 32-bit numbers: values above 2^31 (pymap gives
them) overflow PostgreSQL's INTEGER, so they become BIGINT (SQLite stores both alike).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = {"rawmessage": ("uidvalidity", "uid"), "checkpoint": ("uidvalidity", "last_uid")}


def _retype(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.alter_column(column, existing_type=old, type_=new, nullable=False)


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())
