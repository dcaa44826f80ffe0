"""Replies: rendering (Jinja2) and building RFC 3834 messages, the outbox (queue in the
storing transaction, send with backoff), bounces. May import: intake.storage,
intake.decisions, intake.mail, intake.config, intake.errors, intake.logs, intake.resources."""
