"""The schema of the release before migrations (0.1.0 as it landed at stop 9).

A database that release made has these tables and no alembic_version: `intake db upgrade`
recognises it, stamps this revision and upgrades from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applicant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "bouncedaddress",
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "checkpoint",
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("last_uid", sa.Integer(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "digestrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("digestrun", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_digestrun_until"), ["until"], unique=False)

    op.create_table(
        "mailboxstate",
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("last_poll_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_success_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("backlog", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "rawmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("folder", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("uidvalidity", sa.Integer(), nullable=False),
        sa.Column("uid", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("fetched_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("rawmessage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rawmessage_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_rawmessage_mailbox"), ["mailbox"], unique=False)
        batch_op.create_index(batch_op.f("ix_rawmessage_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rawmessage_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_rawmessage_status"), ["status"], unique=False)

    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("raw_message_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("posting", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("cover_letter", sa.Text(), nullable=True),
        sa.Column("github", sa.JSON(), nullable=False),
        sa.Column("period_text", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("period_start", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column("period_end", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=True),
        sa.Column("area", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("eligibility", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("eligibility_basis", sa.JSON(), nullable=False),
        sa.Column("eligibility_evidence", sa.JSON(), nullable=False),
        sa.Column("needs_sponsorship", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["applicant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_message_id"],
            ["rawmessage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raw_message_id"),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_application_applicant_id"), ["applicant_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_application_mailbox"), ["mailbox"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_posting"), ["posting"], unique=False)

    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_message_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_message_id"],
            ["rawmessage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_raw_message_id"), ["raw_message_id"], unique=False
        )

    op.create_table(
        "flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_message_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_message_id"],
            ["rawmessage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("flag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_flag_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_flag_code"), ["code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_flag_raw_message_id"), ["raw_message_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("trigger_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=998), nullable=False),
        sa.Column("template", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("to_address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("envelope_from", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
        ),
        sa.ForeignKeyConstraint(
            ["trigger_id"],
            ["rawmessage.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outbox_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_to_address"), ["to_address"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_trigger_id"), ["trigger_id"], unique=False)


def downgrade() -> None:
    for table in (
        "outbox",
        "flag",
        "document",
        "application",
        "rawmessage",
        "mailboxstate",
        "digestrun",
        "checkpoint",
        "bouncedaddress",
        "applicant",
    ):
        op.drop_table(table)
