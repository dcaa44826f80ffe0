"""One error tree, so the CLI can turn any expected failure into one clear line."""


class IntakeError(Exception):
    """Root of every error a user can cause or fix (config, servers, input)."""


class ConfigError(IntakeError):
    """The configuration file or the environment it names is wrong; names the key."""


class MailboxError(IntakeError):
    """An IMAP server refused us or went away; names the mailbox and server."""


class ExtractionError(IntakeError):
    """A document or message could not be read; names the file and the backend."""
