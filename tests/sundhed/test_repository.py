"""Rules about the repository itself, so they hold for every change after the one that made them."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Background files of the people who build Sundhed; a user's clone does not have them.
ABSENT_FILES = ("DESIGN" + ".md", "STYLE" + ".md")


def _tracked_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in names]


def test_no_file_cites_a_document_the_clone_does_not_have():
    citing = []
    for path in _tracked_files():
        if not path.is_file() or path.suffix in (".png", ".woff2", ".mo", ".dcm", ".ico"):
            continue
        text = path.read_text(errors="ignore")
        citing += [f"{path.relative_to(ROOT)}: {name}" for name in ABSENT_FILES if name in text]
    assert citing == []


def test_the_readme_is_a_door_of_about_a_hundred_lines_and_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 110
    assert lines[3].startswith("make run ") and lines[4].startswith("make test ")


def test_operations_names_every_environment_variable_the_settings_read():
    import re

    settings = (ROOT / "sundhed" / "settings.py").read_text()
    names = set(re.findall(r'env(?:bool|int|list|url)?\(\s*"([A-Z0-9_]+)"', settings))
    documented = (ROOT / "docs" / "operations.md").read_text()
    assert names and sorted(name for name in names if f"`{name}`" not in documented) == []


VIEW_LINES = 25


def _view_modules() -> list[Path]:
    found = []
    for path in _tracked_files():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("tests/", "bench/", "simulators/")) or "/migrations/" in relative:
            continue
        if path.name in ("views.py", "api.py") or "/views/" in relative:
            found.append(path)
    return found


def test_every_view_body_is_at_most_25_lines():
    """Docstring and decorators excluded: a view parses, calls one service or selector, and
    renders; the rest belongs in a form, a selector or a service."""
    import ast

    long = []
    modules = _view_modules()
    for path in modules:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if node.name.startswith("_"):
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if body and body[-1].end_lineno - body[0].lineno + 1 > VIEW_LINES:
                lines = body[-1].end_lineno - body[0].lineno + 1
                long.append(f"{path.relative_to(ROOT)}: {node.name} ({lines} lines)")
    assert len(modules) > 10
    assert long == []
