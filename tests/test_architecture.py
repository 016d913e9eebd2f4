"""The shape of the code: imports point down (import-linter's contracts in pyproject.toml), each
package says what it holds, and comments describe the present (history lives in git and the
changelog)."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
MODULES = sorted(GATEWAY.rglob("*.py"))

# History told in the code: an issue number, what the code "used to" do, a dated measurement.
HISTORY = re.compile(r"\bissue #?\d|\bused to\b|\b\d{4}-\d{2}-\d{2}\b", re.IGNORECASE)
CODE = re.compile(r"`[^`]*`")  # a value quoted as an example (`2026-11-24`) is not history


def tells_history(text: str) -> bool:
    return HISTORY.search(CODE.sub("", text)) is not None


def comments_and_docstrings(path: Path) -> list[tuple[int, str]]:
    """Every comment and docstring of a module, with its line number."""
    source = path.read_text(encoding="utf-8")
    found = [
        (token.start[0], token.string)
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    ]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None:
                first = node.body[0].lineno
                found += [(first + i, line) for i, line in enumerate(docstring.splitlines())]
    return found


def test_every_import_points_down_the_layers() -> None:
    """A module importing one above it (a resolver reaching into the edge, an adapter into the
    schema) ties the layers together: the next change to one breaks the other."""
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-logo",
            "--no-cache",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert re.search(r"Contracts: [1-9]\d* kept, 0 broken\.", report), report


def test_every_package_says_what_it_holds() -> None:
    packages = sorted(p for p in GATEWAY.rglob("__init__.py"))
    assert packages
    silent = [
        str(p.relative_to(ROOT))
        for p in packages
        if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))
    ]
    assert silent == []


def test_comments_describe_the_code_not_its_history() -> None:
    told = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()}"
        for path in MODULES
        for line, text in comments_and_docstrings(path)
        if tells_history(text)
    ]
    assert told == []


def test_history_is_recognised_and_examples_are_not() -> None:
    """The pattern finds what it is meant to (else the test above passes on nothing)."""
    assert tells_history("# the account mutations (issue 9)")
    assert tells_history("# this used to parse without limits")
    assert tells_history("(paired runs over real HTTP, 2026-12-01); `tests/x.py` keeps it so")
    assert not tells_history("RFC 3339 full-date: `2026-11-24`")
    assert not tells_history("`[{'asOf': '2026-11-24T09:12:00+00:00'}]` lets the app say")
    assert not tells_history("# measured: 12 µs per call")
