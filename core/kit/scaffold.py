"""``chelun plugins new``: an installable plugin package for one province, whose own tests pass
as soon as it is written.

The package is one folder, ``chelun-<name>/``: a ``pyproject.toml`` declaring the plugin as the
entry point ``<name>`` of the group ``chelun``, the plugin module ``src/chelun_<name>/`` with one
example hook per capability, tests using chelun's pytest fixtures, and a README.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from chelun.kit import templates
from chelun.plugin_manager import ENTRY_POINT_GROUP

#: A plugin's name: lower-case letters and digits, words joined by - or _.
NAME = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
NAME_LIMIT = 40


class ScaffoldError(ValueError):
    """The package cannot be written as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Scaffold:
    """What ``new_plugin`` wrote: the package folder and its files, relative to it."""

    folder: Path
    name: str
    province: str
    files: tuple[str, ...]


def names_for(name: str) -> dict[str, str]:
    """The plugin's names: entry point, distribution, module."""
    return {
        "name": name,
        "dist": "chelun-" + name.replace("_", "-"),
        "module": "chelun_" + name.replace("-", "_"),
    }


def new_plugin(name: str, province: str, where: Path) -> Scaffold:
    """Write the package of plugin ``name`` for ``province`` (a two-digit code or a pilot
    province's name) in ``where``; raises ``ScaffoldError`` without writing anything when the
    name or province is not usable or the folder exists."""
    from chelun.identity.divisions import divisions, resolve_province

    if not (NAME.fullmatch(name) and len(name) <= NAME_LIMIT):
        raise ScaffoldError(
            f"plugin name {name[:NAME_LIMIT]!r} is not usable: lower-case letters and digits, "
            f"words joined by - or _, at most {NAME_LIMIT} characters (e.g. zhejiang)"
        )
    try:
        code = resolve_province(province)
    except ValueError as exc:
        raise ScaffoldError(str(exc)) from None
    taken = [
        entry_point.value
        for dist in importlib.metadata.distributions()
        for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP, name=name)
    ]
    if taken:
        raise ScaffoldError(
            f"a plugin named {name!r} is installed already ({taken[0]}): choose another name"
        )
    values = names_for(name) | {
        "province": code,
        "province_name": divisions().province_names.get(code, code),
    }
    folder = Path(where) / values["dist"]
    if folder.exists():
        raise ScaffoldError(f"{folder} exists already: remove it, or run in another folder")
    files = {
        "pyproject.toml": templates.PYPROJECT,
        "README.md": templates.README,
        f"src/{values['module']}/__init__.py": templates.MODULE,
        "tests/test_plugin.py": templates.TESTS,
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return Scaffold(folder, name, code, tuple(files))
