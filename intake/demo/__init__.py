"""The embedded demo and the loopback servers it runs (pymap IMAP, aiosmtpd sink); the
tests use the same servers. May import: intake.daemon, intake.web and every stage below
them, intake.config, intake.errors, intake.logs, intake.resources; never intake.cli."""
