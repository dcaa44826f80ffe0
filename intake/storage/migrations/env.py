"""Alembic's environment: always run from code with the connection intake passes in
(config.attributes["connection"]); batch mode, so SQLite can alter a table by copying it."""

from alembic import context
from sqlmodel import SQLModel

from intake.storage import models, search  # noqa: F401  (registers the tables)

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=SQLModel.metadata,
    render_as_batch=True,
    compare_type=True,
    include_name=search.modelled,
)
with context.begin_transaction():
    context.run_migrations()
