"""Storage: the tables, the engine, writing a decision once, and reading the history a
decision needs. May import: intake.decisions, intake.extraction, intake.mail, intake.errors,
intake.resources."""
