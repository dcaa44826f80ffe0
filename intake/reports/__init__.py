"""Reports for people: the digest, CSV/JSON export, `intake status`. May import:
intake.storage, intake.replies, intake.decisions, intake.mail, intake.extraction,
intake.config, intake.errors, intake.logs, intake.resources."""
