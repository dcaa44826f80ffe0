"""`intake web`: the recruiters' workspace, a Starlette app rendered on the server.

Every page needs a signed-in account (a signed session cookie that also carries a hash of
the account's password hash, so a new password signs every other session out); every
form carries the session's CSRF token; applicant text is escaped by Jinja2's autoescape
and the pages run no inline script (a strict Content-Security-Policy). URLs carry only
ids: a search is posted and kept in the session, so names never reach an access log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from intake import resources
from intake.config import Config
from intake.decisions.rules import Posting
from intake.replies.outbox import ReplySettings
from intake.storage import models, search
from intake.storage.db import session as open_session
from intake.web import accounts, reviews, views

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
SIGNIN_FAILURES_PER_ADDRESS = 30  # per client address in a lockout window, any account
WRONG = "Wrong username or password, or too many failed attempts: try again later."


class Workspace:
    """What the pages need: the database, the postings, reply settings, a clock."""

    def __init__(
        self,
        cfg: Config,
        engine: Engine,
        postings: dict[str, Posting],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.cfg, self.engine, self.postings, self.clock = cfg, engine, postings, clock
        self.replies = ReplySettings.from_config(cfg)
        self.lockout = accounts.Lockout(cfg.web.max_failed_signins, cfg.web.lockout_minutes)
        self.failures: dict[str, deque[float]] = defaultdict(deque)
        self.pages = Environment(
            loader=FileSystemLoader(str(resources.templates() / "web")),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.pages.globals.update(titles={k: p.title for k, p in postings.items()})
        self.pages.filters["when"] = views.received

    def render(self, request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
        values.setdefault("account", getattr(request.state, "account", None))
        page = self.pages.get_template(f"{name}.html.j2")
        html = page.render(csrf=request.session.get("csrf", ""), actions=reviews.ACTIONS, **values)
        return HTMLResponse(html, status_code=status)

    # --- sessions, sign-in, CSRF -----------------------------------------------------

    def signed_in(self, request: Request, session) -> models.Recruiter:
        """The request's account; a redirect to sign-in (as an exception) otherwise."""
        name = request.session.get("user")
        account = accounts.find_or_none(session, name) if name else None
        if account is None or request.session.get("key") != _key(account):
            request.session.clear()
            target = "/signin?" + urlencode({"next": request.url.path})
            raise HTTPException(303, headers={"Location": target})
        request.state.account = account
        return account

    async def form(self, request: Request) -> dict[str, str]:
        """The posted form, refused (403) without this session's CSRF token."""
        form = await request.form()
        sent, kept = str(form.get("csrf", "")), request.session.get("csrf", "")
        if not kept or not hmac.compare_digest(sent.encode(), kept.encode()):
            raise HTTPException(403, "This form has expired or did not come from this site.")
        return {key: str(value) for key, value in form.items()}

    def limited(self, address: str) -> bool:
        window = self.lockout.minutes * 60
        seen, now = self.failures[address], time.monotonic()
        while seen and seen[0] < now - window:
            seen.popleft()
        return len(seen) >= SIGNIN_FAILURES_PER_ADDRESS


def _key(account: models.Recruiter) -> str:
    return hashlib.sha256(account.password_hash.encode()).hexdigest()[:16]


def _fresh_csrf(request: Request) -> None:
    request.session["csrf"] = secrets.token_urlsafe(32)


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) after sign-in."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/applications"


# --- pages -----------------------------------------------------------------------------


def make_app(work: Workspace) -> Starlette:
    async def signin_page(request: Request) -> Response:
        if "csrf" not in request.session:
            _fresh_csrf(request)
        return work.render(request, "signin", next=_safe_next(request.query_params.get("next")))

    async def signin(request: Request) -> Response:
        form = await work.form(request)
        address = request.client.host if request.client else "?"
        account = None
        if not work.limited(address):
            with open_session(work.engine) as session:
                account = accounts.sign_in(
                    session, form.get("username", ""), form.get("password", ""),
                    work.clock(), work.lockout,
                )  # fmt: skip
                session.commit()
                if account is not None:
                    request.session.clear()
                    request.session.update(user=account.username, key=_key(account))
        if account is None:
            work.failures[address].append(time.monotonic())
            return work.render(request, "signin", 401, error=WRONG, next=form.get("next"))
        _fresh_csrf(request)
        return RedirectResponse(_safe_next(form.get("next")), 303)

    async def signout(request: Request) -> Response:
        await work.form(request)
        request.session.clear()
        return RedirectResponse("/signin", 303)

    async def home(request: Request) -> Response:
        return RedirectResponse("/applications", 303)

    async def listing(request: Request) -> Response:
        params = request.query_params
        chosen = {name: params.get(name, "") for name in views.FILTERS}
        sort = params.get("sort", "received")
        descending = params.get("order", "desc") != "asc"
        query = request.session.get("q", "")
        with open_session(work.engine) as session:
            account = work.signed_in(request, session)
            if query:
                search.refresh(session, work.clock())
                session.commit()
            found = views.triage(session, account, chosen, query, sort, descending)
        return work.render(
            request, "list", listing=found, chosen=chosen, query=query, sort=sort,
            descending=descending, link=_linker(chosen, sort, descending),
        )  # fmt: skip

    async def set_search(request: Request) -> Response:
        form = await work.form(request)
        with open_session(work.engine) as session:
            work.signed_in(request, session)
        request.session["q"] = form.get("q", "").strip()[:200]
        filters = {k: form[k] for k in views.FILTERS if form.get(k)}
        return RedirectResponse("/applications?" + urlencode(filters), 303)

    async def application(request: Request) -> Response:
        app_id = request.path_params["app_id"]
        with open_session(work.engine) as session:
            account = work.signed_in(request, session)
            found = views.detail(session, account, app_id)
            if found is None:
                raise HTTPException(404, "No such application.")
            return work.render(request, "application", d=found)

    async def decide(request: Request) -> Response:
        app_id = request.path_params["app_id"]
        form = await work.form(request)
        with open_session(work.engine) as session:
            account = work.signed_in(request, session)
            found = views.detail(session, account, app_id)
            if found is None:
                raise HTTPException(404, "No such application.")
            action = form.get("action", "")
            if action not in reviews.ACTIONS:
                raise HTTPException(400, "Choose shortlist, on hold or reject.")
            app = found.application
            reply = None
            if action == "rejected" and form.get("reply") == "yes":
                reply = (work.replies, work.postings.get(app.posting or ""))
            reviews.decide(
                session, app, action, form.get("note", "")[:5000], account.username,
                work.clock(), reply,
            )  # fmt: skip
            session.commit()
        return RedirectResponse(f"/applications/{app_id}", 303)

    async def document(request: Request) -> Response:
        app_id, doc_id = request.path_params["app_id"], request.path_params["doc_id"]
        with open_session(work.engine) as session:
            account = work.signed_in(request, session)
            if views.detail(session, account, app_id) is None:
                raise HTTPException(404, "No such application.")
            doc = session.get(models.Document, doc_id)
            if doc is None or doc.application_id != app_id:
                raise HTTPException(404, "No such document.")
            raw = session.get(models.RawMessage, doc.raw_message_id)
            data = views.attachment(raw.raw, doc.sha256)
        if data is None:
            raise HTTPException(410, "This document's mail was deleted (retention).")
        inline = doc.format == "pdf" and data.startswith(b"%PDF-")
        kind = "application/pdf" if inline else "application/octet-stream"
        return Response(data, media_type=kind, headers=_disposition(doc, inline))

    async def raw_message(request: Request) -> Response:
        app_id, raw_id = request.path_params["app_id"], request.path_params["raw_id"]
        with open_session(work.engine) as session:
            account = work.signed_in(request, session)
            found = views.detail(session, account, app_id)
            messages = {m.id: m for m in found.messages} if found else {}
            if raw_id not in messages:
                raise HTTPException(404, "No such message.")
            data = messages[raw_id].raw
        if not data:
            raise HTTPException(410, "This message was deleted (retention).")
        headers = {"Content-Disposition": f'attachment; filename="message-{raw_id}.eml"'}
        return Response(data, media_type="application/octet-stream", headers=headers)

    async def problem(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (301, 302, 303) and exc.headers:
            return RedirectResponse(exc.headers["Location"], exc.status_code)
        return work.render(request, "problem", exc.status_code, message=exc.detail)

    routes = [
        Route("/", home),
        Route("/signin", signin_page, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/applications", listing),
        Route("/search", set_search, methods=["POST"]),
        Route("/applications/{app_id:int}", application),
        Route("/applications/{app_id:int}/decision", decide, methods=["POST"]),
        Route("/applications/{app_id:int}/documents/{doc_id:int}", document),
        Route("/applications/{app_id:int}/messages/{raw_id:int}", raw_message),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=work.cfg.web.secret(),
            session_cookie="intake_session",
            max_age=int(work.cfg.web.session_hours * 3600),
            same_site="strict",
            https_only=work.cfg.web.secure_cookies,
        ),
    ]
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: problem}
    )


def _linker(chosen: dict[str, str], sort: str, descending: bool):
    """A URL of the list with one filter, or the sort, changed."""

    def link(**changes: str) -> str:
        params = {**chosen, "sort": sort, "order": "desc" if descending else "asc", **changes}
        return "/applications?" + urlencode({k: v for k, v in params.items() if v})

    return link


def _disposition(doc: models.Document, inline: bool) -> dict[str, str]:
    """The stored file name, never in a path: ASCII in `filename`, UTF-8 in `filename*`."""
    name = (doc.filename or f"document-{doc.id}").replace("\r", " ").replace("\n", " ")
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    mode = "inline" if inline else "attachment"
    return {"Content-Disposition": f"{mode}; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"}


class SecurityHeaders:
    """The same strict headers on every response (pages, files, errors)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OURS]
                headers += [(k.lower().encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


_OURS = {k.lower().encode() for k in HEADERS}
