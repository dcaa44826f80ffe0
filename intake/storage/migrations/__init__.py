"""Alembic revisions of intake's schema, run from code (`intake db upgrade`)."""
