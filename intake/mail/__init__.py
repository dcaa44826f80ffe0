"""Mail intake: IMAP (fetch by UID, checkpoint-safe), IMAP IDLE, and MIME bytes to a
`ParsedMessage`. May import: intake.config, intake.errors, intake.logs."""
