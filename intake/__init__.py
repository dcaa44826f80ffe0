"""intake: job-application mailboxes in, a triaged pipeline out."""

__version__ = "0.2.0"
