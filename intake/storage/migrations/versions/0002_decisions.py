"""What issue 11 added: the stored decision, referrals, one outbox row per message and
role (declined replies included), OCR'd documents, applicants without a known address.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applicant") as batch_op:
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=320), nullable=True)
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("referrer_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_application_referrer_id", ["referrer_id"], unique=False)
        batch_op.create_foreign_key(
            "application_referrer_id_fkey", "applicant", ["referrer_id"], ["id"]
        )
    with op.batch_alter_table("document") as batch_op:
        batch_op.add_column(
            sa.Column("ocr", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("outbox") as batch_op:
        # every reply the previous release queued answered the applicant
        batch_op.add_column(
            sa.Column(
                "role",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="applicant",
            )
        )
        batch_op.create_unique_constraint("uq_outbox_trigger_id_role", ["trigger_id", "role"])
    with op.batch_alter_table("rawmessage") as batch_op:
        batch_op.add_column(sa.Column("decision", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rawmessage") as batch_op:
        batch_op.drop_column("decision")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_constraint("uq_outbox_trigger_id_role", type_="unique")
        batch_op.drop_column("role")
    with op.batch_alter_table("document") as batch_op:
        batch_op.drop_column("ocr")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_constraint("application_referrer_id_fkey", type_="foreignkey")
        batch_op.drop_index("ix_application_referrer_id")
        batch_op.drop_column("referrer_id")
    with op.batch_alter_table("applicant") as batch_op:
        batch_op.alter_column("email", existing_type=sa.VARCHAR(length=320), nullable=False)
