"""Running it: one poll (`pipeline`), one message (`processing`: read, history, decide,
write), and the APScheduler daemon (`scheduler`). May import every stage below it
(mail, extraction, decisions, storage, replies, reports) and intake.config, intake.errors,
intake.logs, intake.resources."""
