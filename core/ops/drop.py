"""The roster drop folder: where departments' files wait for the daily intake.

Each province has a folder of its own (``CHELUN_DROP_FOLDER/<code>``, by default
``CHELUN_HOME/drop/<code>``). Every file in it is a source, named by the file's name up to its
first dot: ``transport.csv`` (or ``transport.xlsx``) is the source ``transport``, and a new copy
under the same name replaces that source's rows, as ``chelun intake transport=...`` does. A file
``<source>.map.toml`` (or ``.map.json``) beside it is that source's mapping file. Names starting
with ``.`` or ``~`` (a file still being copied in, an office program's lock file) and folders
are left alone.

After an intake that succeeded, the files it read are moved into ``done/``, their names prefixed
with the Beijing time they were taken, so that the next run finds nothing to do; mapping files
stay for the next copy. After one that failed, the files stay where they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from chelun.roster.staging import SourceInput
from chelun.storage.private import private_folder

MAPPING_SUFFIXES = (".map.toml", ".map.json")
DONE = "done"
#: The longest source name, as ``chelun intake`` allows.
NAME_LIMIT = 100


class DropError(ValueError):
    """Files in a drop folder that cannot be taken as they are; one line saying what to do."""


def dropped(folder: Path) -> list[SourceInput]:
    """The sources waiting in ``folder``, by name, each with its mapping file if it has one.

    A missing folder is created (private to chelun's user, as it will hold personal data) and
    holds nothing. Raises ``DropError`` when two files are the same source, or a name cannot
    be a source's.
    """
    if not folder.exists():
        private_folder(folder)
        return []
    if not folder.is_dir():
        raise DropError(f"the drop folder {folder} is not a folder")
    files: dict[str, Path] = {}
    mappings: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if name.startswith((".", "~")) or not path.is_file():
            continue
        mapping = name.lower().endswith(MAPPING_SUFFIXES)
        source = name.split(".", 1)[0]
        if len(source) > NAME_LIMIT or not source.isprintable():
            raise DropError(
                f"{path}: a source is named by the file's name up to its first dot, and that "
                f"must be printable and at most {NAME_LIMIT} characters; rename the file"
            )
        found = mappings if mapping else files
        if source in found:
            raise DropError(
                f"{found[source].name} and {name} in {folder} are both the source {source!r}: "
                "keep one (a source is named by the file's name up to its first dot)"
            )
        found[source] = path
    return [SourceInput(source, path, mappings.get(source)) for source, path in files.items()]


def file_away(paths: Sequence[Path], folder: Path, at: dt.datetime) -> list[Path]:
    """Move files the intake read into ``folder/done``, each name prefixed with the Beijing
    time ``at``; where they now are."""
    from chelun.calendar import BEIJING

    done = folder / DONE
    if not done.exists():
        private_folder(done)
    stamp = at.astimezone(BEIJING).strftime("%Y%m%dT%H%M%S")
    moved = []
    for path in paths:
        target = done / f"{stamp}-{path.name}"
        copy = 1
        while target.exists():
            copy += 1
            target = done / f"{stamp}-{copy}-{path.name}"
        path.rename(target)
        moved.append(target)
    return moved
