"""What every capability's commands share: the province option, clear errors, the settings and
the database. ``chelun.cli`` assembles the command line from each capability's ``cli.register``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from chelun.identity.divisions import resolve_province
from chelun.offline import configure_prefect
from chelun.settings import Settings

if TYPE_CHECKING:
    from chelun.storage.db import Database

err = Console(stderr=True)
out = Console()

ProvinceOption = Annotated[
    str,
    typer.Option(
        "--province",
        "-p",
        help="Province: a two-digit code (32, 51, 52, 62) or a pinyin name (jiangsu ...).",
    ),
]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned Exit to stop with ``code``."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def province_code(value: str) -> str:
    try:
        return resolve_province(value)
    except ValueError as exc:
        raise fail(str(exc), 2) from None


def load_settings() -> Settings:
    """The framework's settings, with Prefect pointed at a private home under CHELUN_HOME."""
    current = Settings()
    configure_prefect(current.home)
    return current


def open_db(current: Settings) -> Database:
    """The configured database, migrated when embedded; a clear error when it cannot open."""
    from sqlalchemy.exc import OperationalError

    from chelun.storage.db import open_database

    try:
        return open_database(current)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        from sqlalchemy.engine import make_url

        where = make_url(current.resolved_database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise fail(
            f"cannot open the database at {where}: {reason}; check CHELUN_DATABASE_URL "
            "and that the server is running"
        ) from None


def name_path_pairs(values: list[str], what: str) -> dict[str, Path]:
    """``NAME=PATH`` arguments as a mapping; a clear usage error for anything else."""
    pairs: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise fail(f"{what} {value!r} is not NAME=PATH (e.g. transport=licences.csv)", 2)
        if name in pairs:
            raise fail(f"source name {name!r} is given twice", 2)
        pairs[name] = Path(path)
    return pairs
