"""The documentation site builds in strict mode, documents every setting, and reads as the
current state (no issue numbers: history belongs in CHANGELOG.md and in git)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pydantic import AliasChoices

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ISSUE_NUMBER = re.compile(r"issue \d", re.IGNORECASE)


def setting_variables() -> set[str]:
    """The `GATEWAY_*` environment variables `Settings` reads."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(f"{prefix}{name}".upper())
        elif isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return {name for name in names if name.startswith("GATEWAY_")}


def test_the_site_builds_strictly_and_documents_every_setting(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    page = (tmp_path / "configuration" / "index.html").read_text("utf-8")
    variables = setting_variables()
    assert {"GATEWAY_ENV", "GATEWAY_REDIS_URL", "GATEWAY_BREAKER_THRESHOLD"} <= variables
    missing = sorted(name for name in variables if name not in page)
    assert not missing, f"not on the configuration page: {missing}"
    assert "settings-table" not in page  # the hook replaced its marker


def test_the_readme_is_short_and_names_no_issue() -> None:
    lines = (ROOT / "README.md").read_text("utf-8").splitlines()
    assert len(lines) < 250
    mentions = [line for line in lines if ISSUE_NUMBER.search(line)]
    assert not mentions, mentions


def test_no_page_names_an_issue() -> None:
    pages = sorted((ROOT / "docs").rglob("*.md"))
    assert len(pages) >= 10
    mentions = [
        f"{page.relative_to(ROOT)}:{number}: {line}"
        for page in pages
        for number, line in enumerate(page.read_text("utf-8").splitlines(), 1)
        if ISSUE_NUMBER.search(line)
    ]
    assert not mentions, mentions
