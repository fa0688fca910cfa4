"""Files and folders that hold unmasked personal data are private to the user who runs chelun.

The home folder (``CHELUN_HOME``: the embedded database, Prefect's state, the demo's files) is
made ``0700`` and the SQLite database ``0600`` whatever the umask, so that another account on
the machine reads neither the roster nor what Prefect stored of a run.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing and make it readable by its owner only (SQLite gives
    its -wal and -shm files the database file's mode)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))
    os.chmod(path, FILE_MODE)
    return path
