"""Find GitHub links in text and URLs, normalised and deduplicated.

Recruiters want `https://github.com/<login>`, `https://github.com/<login>/<repo>` or a gist
(`https://gist.github.com/<login>/<id>`); GitHub's own pages (settings, orgs,
marketplace...) are not somebody's code. Links are found the way people and their mail
clients write them: wrapped over two lines, inside Outlook SafeLinks or a Proofpoint
rewrite, or as "my GitHub is @handle".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, unquote, urlsplit

# A login: alphanumerics and single inner hyphens, at most 39 characters.
_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_URL = re.compile(
    r"(?<![\w.@/-])(?:https?://)?(?P<host>gist\.|www\.)?github\.com/"
    r"(?P<path>[^\s<>\"'`()\[\]{}|\\^]*)",
    re.IGNORECASE,
)
_GIST_ID = re.compile(r"^[0-9a-f]{5,40}$", re.IGNORECASE)
# "my GitHub is @handle", "GitHub: @handle", "GitHub username - handle" (end of line)
_HANDLE = re.compile(
    rf"\bgit ?hub(?:[ \t]+(?:user ?name|handle|account|profile|id|login))?[ \t]*"
    rf"(?:(?:is|:|-|–|—)?[ \t]*@(?P<at>{_LOGIN})(?=[\s,;:!?)]|\.(?:\s|$)|$)"
    rf"|(?:is|:|-|–|—)[ \t]*(?P<bare>{_LOGIN})[ \t]*$)",
    re.IGNORECASE | re.MULTILINE,
)
_NOT_HANDLES = frozenset({"is", "at", "and", "the", "https", "http", "www", "github", "com"})
# Redirectors that wrap a link: Outlook SafeLinks, Google, Proofpoint URL Defense v2/v3.
_WRAPPED = re.compile(
    r"https?://(?:[\w-]+\.safelinks\.protection\.outlook\.com|www\.google\.com/url"
    r"|urldefense\.(?:proofpoint\.)?com/v[23])[^\s<>\"']*",
    re.IGNORECASE,
)
# A URL a mail client broke over two lines inside <angle brackets> (RFC 3986, appendix C).
_BRACKETED = re.compile(r"<((?:https?://|www\.)[^<>\s]*(?:[ \t]*\r?\n[ \t]*[^<>\s]+)+)>")
# A GitHub URL that runs to the end of a long (hard-wrapped) line, continued on the next.
_CUT = re.compile(
    r"^(?P<line>(?=[^\n]{60,}$)[^\n]*github\.com/[^\s<>\"']*)\r?\n"
    r"(?P<rest>[a-z0-9_./%?=&#-][\w./%?=&#-]*)(?=\s|$)",
    re.MULTILINE,
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
    """One GitHub URL to its canonical profile/repository/gist form, or None if it is not one."""
    match = _URL.search(unwrap(url))
    return _from_match(match) if match else None


def unwrap(url: str) -> str:
    """The link a redirector (SafeLinks, Google, Proofpoint) wraps, else the URL itself."""
    if not _WRAPPED.match(url):
        return url
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if "/v3/" in parts.path:  # https://urldefense.com/v3/__https://github.com/x__;!!...
        inner = re.search(r"/v3/__(.+?)__;", url)
        return inner.group(1) if inner else url
    if "/v2/" in parts.path:  # u=https-3A__github.com_x: "-XX" is %XX, "_" is "/"
        target = query.get("u", [""])[0]
        return unquote(re.sub(r"-([0-9A-F]{2})", r"%\1", target).replace("_", "/")) or url
    return (query.get("url") or query.get("q") or [url])[0]


def prepare(text: str) -> str:
    """Text with wrapped links made whole again: redirectors unwrapped, a URL broken over
    two lines (inside angle brackets, or cut at the end of a hard-wrapped line) joined."""
    text = _WRAPPED.sub(lambda m: unwrap(m.group(0).rstrip(".,;")), text)
    text = _BRACKETED.sub(lambda m: "<" + re.sub(r"\s+", "", m.group(1)) + ">", text)
    return _CUT.sub(lambda m: m.group("line") + m.group("rest"), text)


def _from_match(match: re.Match) -> str | None:
    if (match.group("host") or "").lower() == "gist.":
        return _gist(match.group("path"))
    return _from_path(match.group("path"))


def _gist(path: str) -> str | None:
    parts = [p for p in re.split(r"[?#]", path, maxsplit=1)[0].rstrip(_TRAILING).split("/") if p]
    if len(parts) >= 2 and _LOGIN_RE.match(parts[0]) and _GIST_ID.match(parts[1]):
        return f"https://gist.github.com/{parts[0]}/{parts[1]}"
    if parts and _GIST_ID.match(parts[0]):
        return f"https://gist.github.com/{parts[0]}"
    return None


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
    """Every GitHub link written in free text (URLs and "GitHub: @handle"), in order."""
    text = prepare(text)
    found = [(m.start(), url) for m in _URL.finditer(text) if (url := _from_match(m))]
    for m in _HANDLE.finditer(text):
        login = m.group("at") or m.group("bare")
        if login.lower() not in _NOT_HANDLES:
            found.append((m.start(), f"https://github.com/{login}"))
    return [url for _, url in sorted(found, key=lambda item: item[0])]


def github_links(texts: Iterable[str] = (), urls: Iterable[str] = ()) -> list[str]:
    """Links from free text and from explicit URLs (hrefs, PDF/DOCX annotations), deduplicated.

    Deduplication ignores case (GitHub logins are case-insensitive); the first spelling wins.
    A link in text that is a link target plus ".Word" lost the space after its sentence
    (a client that drops line breaks: "repo.I am"): the target wins.
    """
    found: list[str] = []
    for text in texts:
        found.extend(find_in_text(text))
    targets = [url for raw in urls if (url := normalise(raw))]
    found.extend(targets)
    run_on = {
        url.lower()
        for url in found
        for target in targets
        if re.fullmatch(re.escape(target.lower()) + r"\.[a-z]\w*", url.lower())
    }
    seen: set[str] = set(run_on)
    unique = []
    for url in found:
        if url.lower() not in seen:
            seen.add(url.lower())
            unique.append(url)
    return unique


def logins(urls: Iterable[str]) -> set[str]:
    """The GitHub logins (lower-cased) in canonical links: who the links say the person is."""
    return {url.split("/")[3].lower() for url in urls if url.startswith("https://github.com/")}
