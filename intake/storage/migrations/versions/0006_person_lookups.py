"""A person's earlier applications found by index (issue 15): `applicant.name_key` (the name
lower-cased) and the `githublogin` table (each application's GitHub logins), both filled
from what is stored. Looking them up had scanned every application for every message.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from intake.extraction.links import logins

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applicant") as batch_op:
        batch_op.add_column(
            sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True)
        )
        batch_op.create_index("ix_applicant_name_key", ["name_key"])
    op.create_table(
        "githublogin",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("login", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("application_id", "login"),
    )
    op.create_index("ix_githublogin_login", "githublogin", ["login"])
    _fill(op.get_bind())


def _fill(conn: sa.Connection) -> None:
    applicant = sa.table("applicant", sa.column("id"), sa.column("name"), sa.column("name_key"))
    named = sa.select(applicant.c.id, applicant.c.name).where(applicant.c.name.is_not(None))
    for person, name in conn.execute(named).all():
        conn.execute(
            applicant.update().where(applicant.c.id == person).values(name_key=name.lower())
        )
    application = sa.table("application", sa.column("id"), sa.column("github", sa.JSON()))
    rows = [
        {"application_id": app, "login": login}
        for app, github in conn.execute(sa.select(application.c.id, application.c.github))
        for login in sorted(logins(github or []))
    ]
    if rows:
        login_table = sa.table("githublogin", sa.column("application_id"), sa.column("login"))
        conn.execute(login_table.insert(), rows)


def downgrade() -> None:
    op.drop_index("ix_githublogin_login", table_name="githublogin")
    op.drop_table("githublogin")
    with op.batch_alter_table("applicant") as batch_op:
        batch_op.drop_index("ix_applicant_name_key")
        batch_op.drop_column("name_key")
