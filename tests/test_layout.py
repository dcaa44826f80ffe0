"""The package's layout is its architecture: each stage imports only the stages below it
(as its __init__ docstring says), and no two modules import each other, even lazily."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "intake"
COMMON = {"errors", "limits", "resources"}
ALLOWED = {
    "mail": {"config", "logs"} | COMMON,
    "extraction": {"mail"} | COMMON,
    "decisions": {"extraction", "mail"} | COMMON,
    "storage": {"decisions", "extraction", "mail"} | COMMON,
    "replies": {"storage", "decisions", "extraction", "mail", "config", "logs"} | COMMON,
    "reports": {"storage", "replies", "decisions", "extraction", "mail", "config", "logs"} | COMMON,
}
ALLOWED["daemon"] = set().union(*ALLOWED.values()) | set(ALLOWED)
ALLOWED["web"] = ALLOWED["replies"] | {"replies"}
ALLOWED["demo"] = ALLOWED["daemon"] | {"daemon", "web"}


def imports(path: Path) -> set[str]:
    """The intake modules a file imports, anywhere in it (lazy imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("intake"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("intake"))
    return {name for name in found if "." in name and _module(name)}


def _module(name: str) -> Path | None:
    parts = name.split(".")[1:]
    for candidate in (
        PACKAGE.joinpath(*parts).with_suffix(".py"),
        PACKAGE.joinpath(*parts, "__init__.py"),
    ):
        if candidate.is_file():
            return candidate
    return None


def modules() -> dict[str, Path]:
    return {
        "intake."
        + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }


@pytest.mark.parametrize("stage", sorted(ALLOWED))
def test_each_stage_imports_only_the_stages_below_it(stage):
    wrong = []
    for path in sorted((PACKAGE / stage).glob("*.py")):
        for name in imports(path):
            top = name.split(".")[1]
            if top != stage and top not in ALLOWED[stage]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_every_stage_says_what_it_owns_and_may_import():
    for stage in ALLOWED:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
        assert doc and "May import" in doc, stage


def test_no_import_cycles():
    graph = {name: {m for m in imports(path) if m in modules()} for name, path in modules().items()}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        for nxt in graph.get(name, ()):
            if nxt in trail:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif len(trail) < 12:
                visit(nxt, [*trail, nxt])

    for name in graph:
        visit(name, [name])
    assert not cycles, "\n".join(sorted(set(cycles))[:10])
