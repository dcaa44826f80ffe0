"""The recruiters' workspace: a small server-rendered web app over what intake stores
(accounts, decisions and their replies, the pages' reads, the Starlette app, serving).
May import: intake.storage, intake.replies, intake.decisions, intake.extraction,
intake.mail, intake.config, intake.errors, intake.logs, intake.resources."""
