"""mkdocs hook: the configuration page's table, generated from `gateway.settings.Settings`.

`configuration.md` holds the marker `<!-- settings-table -->`; this hook replaces it with one row
per field of `Settings`: the environment variable (the field's validation alias when it has one,
else the settings' prefix and the field's name), its default (secrets shown as "(secret)") and its
description. A field without a description stops the build with the field's name, so a new setting
cannot land undocumented.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import NoDecode

ROOT = Path(__file__).resolve().parents[2]
PAGE = "configuration.md"
MARKER = "<!-- settings-table -->"

if str(ROOT) not in sys.path[:1]:  # the checkout's gateway, whatever else is installed
    sys.path.insert(0, str(ROOT))


def settings_class() -> Any:
    """`gateway.settings.Settings` as the file is now (`mkdocs serve` rebuilds after an edit)."""
    module = sys.modules.get("gateway.settings")
    module = importlib.reload(module) if module else importlib.import_module("gateway.settings")
    return module.Settings


def variables(name: str, field: FieldInfo, prefix: str) -> list[str]:
    """The environment variables a field is read from, the documented one first."""
    alias = field.validation_alias
    if alias is None:
        return [f"{prefix}{name}".upper()]
    if isinstance(alias, str):
        return [alias]
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    raise PluginError(f"Settings.{name}: a validation alias the settings page cannot name")


def is_secret(field: FieldInfo) -> bool:
    return "SecretStr" in repr(field.annotation)


def shown_default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True, validated_data={})
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if is_secret(field) or isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, tuple | list) and not value:
        return "empty"
    return f"`{as_written(value, field)}`"


def as_written(value: Any, field: FieldInfo) -> str:
    """A value as it would be written in the environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        if NoDecode in field.metadata:  # the field splits a comma-separated value itself
            return ",".join(str(item) for item in value)
        return json.dumps(list(value))  # pydantic-settings reads a list as JSON
    return str(value)


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    settings = settings_class()
    prefix = settings.model_config.get("env_prefix", "")
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        if not (field.description or "").strip():
            raise PluginError(
                f"Settings.{name} has no description: give it one in gateway/settings.py"
                " (the configuration page is generated from them)"
            )
        documented, *others = variables(name, field, prefix)
        meaning = cell(field.description or "")
        if others:
            meaning += " Also read: " + ", ".join(f"`{other}`" for other in others) + "."
        rows.append(f"| `{documented}` | {shown_default(field)} | {meaning} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise PluginError(f"{PAGE} lost its {MARKER} marker: the settings table has no place")
    return markdown.replace(MARKER, settings_table())
