"""Find GitHub profile and repository links in text and URLs, normalised and deduplicated.

Recruiters want `https://github.com/<login>` or `https://github.com/<login>/<repo>`:
gists, GitHub's own pages (settings, orgs, marketplace...), GitLab and Bitbucket are not
somebody's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A login: alphanumerics and single inner hyphens, at most 39 characters.
_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_URL = re.compile(
    r"(?<![\w.@/-])(?:https?://)?(?:www\.)?github\.com/(?P<path>[^\s<>\"'`()\[\]{}|\\^]*)",
    re.IGNORECASE,
)
_LOGIN_RE = re.compile(rf"^{_LOGIN}$")
_REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_TRAILING = ".,;:!?'\"*_~"

# First path segments that are GitHub's own pages, never a user or organisation.
RESERVED = frozenset(
    [
        "about",
        "account",
        "apps",
        "blog",
        "codespaces",
        "collections",
        "contact",
        "customer-stories",
        "dashboard",
        "enterprise",
        "enterprises",
        "events",
        "explore",
        "features",
        "gist",
        "issues",
        "join",
        "login",
        "logout",
        "marketplace",
        "new",
        "notifications",
        "orgs",
        "organizations",
        "pricing",
        "pulls",
        "readme",
        "search",
        "security",
        "sessions",
        "settings",
        "signup",
        "site",
        "sponsors",
        "stars",
        "team",
        "topics",
        "trending",
        "users",
    ]
)


def normalise(url: str) -> str | None:
    """One GitHub URL to its canonical profile/repository form, or None if it is not one."""
    match = _URL.search(url)
    return _from_path(match.group("path")) if match else None


def _from_path(path: str) -> str | None:
    path = re.split(r"[?#]", path, maxsplit=1)[0].rstrip(_TRAILING)
    parts = [p for p in path.split("/") if p]
    if not parts or not _LOGIN_RE.match(parts[0]) or parts[0].lower() in RESERVED:
        return None
    url = f"https://github.com/{parts[0]}"
    if len(parts) > 1:
        repo = parts[1].rstrip(_TRAILING)
        repo = repo[:-4] if repo.lower().endswith(".git") else repo
        if repo and _REPO_RE.match(repo) and repo not in (".", ".."):
            url += f"/{repo}"
    return url


def find_in_text(text: str) -> list[str]:
    """Every GitHub link written in free text, in order of appearance."""
    return [url for m in _URL.finditer(text) if (url := _from_path(m.group("path")))]


def github_links(texts: Iterable[str] = (), urls: Iterable[str] = ()) -> list[str]:
    """Links from free text and from explicit URLs (hrefs, PDF/DOCX annotations), deduplicated.

    Deduplication ignores case (GitHub logins are case-insensitive); the first spelling wins.
    """
    found: list[str] = []
    for text in texts:
        found.extend(find_in_text(text))
    found.extend(url for raw in urls if (url := normalise(raw)))
    seen: set[str] = set()
    unique = []
    for url in found:
        if url.lower() not in seen:
            seen.add(url.lower())
            unique.append(url)
    return unique


def logins(urls: Iterable[str]) -> set[str]:
    """The GitHub logins (lower-cased) in canonical links: who the links say the person is."""
    return {url.split("/")[3].lower() for url in urls if url.startswith("https://github.com/")}
