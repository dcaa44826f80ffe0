"""Decisions, pure: the rules language (rules/*.toml), the kind (signal table), routing and
checks, loop safety, and `decide`, the one decision about a message. May import:
intake.extraction, intake.mail, intake.errors, intake.resources."""
