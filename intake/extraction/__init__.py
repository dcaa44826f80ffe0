"""Extraction, pure: a parsed message to the candidate's part (forwards, documents and their
roles, links, period, area, eligibility) and parts to an application (`assemble`). Document
parsers run in an isolated worker. May import: intake.mail, intake.errors, intake.resources."""
