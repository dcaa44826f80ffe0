"""Serving the workspace with uvicorn: the edge that opens the database, loads the
postings and listens (loopback by default); no access log, as a URL is all it has."""

from __future__ import annotations

import logging

from intake.config import Config
from intake.logs import event

log = logging.getLogger(__name__)


def build(cfg: Config):
    """The ASGI app for this config: refused at once if the session key is missing."""
    from intake.decisions.rules import load_all
    from intake.storage.db import make_engine
    from intake.web.app import Workspace, make_app

    cfg.web.secret()
    engine = make_engine(cfg.database_url, create=False)
    return make_app(Workspace(cfg, engine, load_all(cfg.rules_dir)))


def serve(cfg: Config, host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    app = build(cfg)
    host, port = host or cfg.web.host, port or cfg.web.port
    event(log, "web_started", logging.WARNING, address=f"http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
