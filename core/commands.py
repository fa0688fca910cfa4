"""What every capability's commands share: the province option, one-line errors, the settings
and the database. ``chelun.cli`` assembles the command line from each capability's
``cli.register``.

Heavy modules (SQLAlchemy, pydantic-settings, Prefect) are imported inside the functions that
need them, so that ``chelun --help`` starts at once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pydantic import ValidationError

    from chelun.settings import Settings
    from chelun.storage.db import Database

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True)
out = Console()


def command_group(help: str, **options: Any) -> typer.Typer:
    """A group of commands with plain help: sentences wrapped to the terminal, options shown
    with their value names (``--province CODE``), readable at 80 columns."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, **options)


ProvinceOption = Annotated[
    str,
    typer.Option(
        "--province",
        "-p",
        metavar="CODE",
        help="Province: a two-digit code (32, 51, 52, 62) or a pinyin name (jiangsu ...).",
    ),
]
FormatOption = Annotated[
    str,
    typer.Option("--format", metavar="FORMAT", help="Output format: csv (upper or lower case)."),
]
#: Settings whose values are secrets: never repeated in a message.
_SECRET_WORDS = ("url", "token", "password", "secret", "key")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr (personal data masked); raise the returned Exit to stop
    with ``code``."""
    from chelun.logs import mask_text

    err.print(f"[bold red]error:[/] {mask_text(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print ``warning: message`` on stderr (personal data masked)."""
    from chelun.logs import mask_text

    err.print(f"[bold yellow]warning:[/] {mask_text(message)}", highlight=False, soft_wrap=True)


def settings_error(exc: ValidationError) -> str:
    """One line for a setting that does not validate: the variable, the value, what is allowed.

    pydantic names the settings class (``exc.title``); its fields are read from ``CHELUN_`` (and
    the class's own prefix) variables or ``.env``.
    """
    from chelun.settings import ChelunSettings

    classes = {cls.__name__: cls for cls in _subclasses(ChelunSettings)}
    prefix = "CHELUN_"
    settings_class = classes.get(exc.title)
    if settings_class is not None:
        prefix = settings_class.model_config.get("env_prefix", prefix) or prefix
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"{prefix}{field}".upper()
        shown = "" if any(word in field for word in _SECRET_WORDS) else f"={error['input']!r}"
        problems.append(f"{variable}{shown}: {error['msg'].lower()}")
    return (
        "bad setting "
        + "; ".join(problems)
        + " (set in the environment or in .env; docs/operators.md lists every setting)"
    )


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.extend([sub, *_subclasses(sub)])
    return found


def database_error(url: str, exc: BaseException) -> str:
    """One line for a database that cannot be reached or used, the password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        where = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "CHELUN_DATABASE_URL is not a database URL (e.g. postgresql+psycopg://user@host/db)"
    orig = getattr(exc, "orig", None) or exc
    reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return (
        f"cannot use the database at {where}: {reason}; check CHELUN_DATABASE_URL and that "
        "the server is running"
    )


def friendly(command: F) -> F:
    """Run a command so that every error a user can cause or fix ends in one line on stderr and
    a non-zero exit (2 for a bad setting), never a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from chelun.logs import bind

        bind(command=command.__name__.replace("_", " "))
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            explained = _explain(exc)
            if explained is None:
                raise
            raise fail(*explained) from None

    return run  # type: ignore[return-value]


def _explain(exc: Exception) -> tuple[str, int] | None:
    """The one-line message and exit code for an error a user can fix; None for a bug.

    The error classes are imported here, when an error happened, not before every command.
    """
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

    from chelun.claims.service import ClaimError, ClaimInputError
    from chelun.logs import LogFileError
    from chelun.plugin_manager import PluginError
    from chelun.roster.staging import StagingIncomplete
    from chelun.sources.profiles import ProfileError
    from chelun.sources.readers import SourceReadError
    from chelun.storage.db import SchemaError
    from chelun.storage.locks import LockBusy

    if isinstance(exc, ValidationError):
        if exc.title in {cls.__name__ for cls in _settings_classes()}:
            return settings_error(exc), 2
        return None
    if isinstance(
        exc,
        SourceReadError
        | ProfileError
        | PluginError
        | LockBusy
        | StagingIncomplete
        | SchemaError
        | LogFileError,
    ):
        return str(exc), 1
    if isinstance(exc, ClaimError):
        return str(exc), 2 if isinstance(exc, ClaimInputError) else 1
    if isinstance(exc, DBAPIError | ArgumentError | NoSuchModuleError):
        return database_error(_database_url(), exc), 1
    return None


def _settings_classes() -> list[type]:
    from chelun.settings import ChelunSettings

    return _subclasses(ChelunSettings)


def _database_url() -> str:
    import os

    from chelun.settings import Settings

    try:
        return Settings().resolved_database_url
    except Exception:  # the settings themselves are broken: say what we can
        return os.environ.get("CHELUN_DATABASE_URL", "")


def load_settings() -> Settings:
    """The framework's settings, with Prefect pointed at a private home under CHELUN_HOME."""
    from chelun.offline import configure_prefect
    from chelun.settings import Settings

    current = Settings()
    configure_prefect(current.home)
    return current


def open_db(current: Settings) -> Database:
    """The configured database, migrated when embedded."""
    from chelun.storage.db import open_database

    return open_database(current)


def province_code(value: str, current: Settings | None = None) -> str:
    """The province a ``--province`` names, if chelun serves it: a province that has a plugin,
    or one operators enabled with ``CHELUN_PROVINCES``. A usage error (exit 2) otherwise."""
    from chelun.identity.divisions import divisions, resolve_province
    from chelun.plugin_manager import PluginHost
    from chelun.settings import Settings

    try:
        code = resolve_province(value)
    except ValueError as exc:
        raise fail(str(exc), 2) from None
    current = current or Settings()
    enabled = set(current.enabled_provinces)
    if code not in enabled:
        host = PluginHost(current, report=lambda failure: None)
        enabled |= {code for info in host.describe() for code in info.provinces}
    if code not in enabled:
        names = divisions().province_names
        served = ", ".join(f"{c} ({names.get(c, '')})" for c in sorted(enabled))
        raise fail(
            f"province {code} ({names.get(code, '')}) has no plugin and is not enabled; "
            f"served: {served or 'none'}. A province without a plugin of its own is enabled "
            "with CHELUN_PROVINCES (e.g. CHELUN_PROVINCES=33)",
            2,
        )
    from chelun.logs import bind

    bind(province=code)
    return code


def output_format(value: str) -> str:
    """A ``--format`` value, case-insensitive; a usage error for anything but csv."""
    if value.strip().lower() != "csv":
        raise fail(f"unknown format {value!r}: csv is supported", 2)
    return "csv"


def write_export(output: Path | None, write: Callable[[Any], int], what: str) -> None:
    """Run ``write(stream)`` into standard output, or into ``output`` (UTF-8) with a line on
    stderr saying how many ``what`` were written."""
    import sys

    if output is None:
        write(sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        count = write(handle)
    err.print(f"{count:,} {what} written to {output}")


def name_path_pairs(values: list[str], what: str) -> dict[str, Path]:
    """``NAME=PATH`` arguments as a mapping; a clear usage error for anything else."""
    pairs: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise fail(f"{what} {value!r} is not NAME=PATH (e.g. transport=licences.csv)", 2)
        if name in pairs:
            raise fail(f"source name {name!r} is given twice", 2)
        if len(name) > 100 or not name.isprintable():
            raise fail(f"{what} name {name[:20]!r}... must be printable, at most 100 characters", 2)
        pairs[name] = Path(path)
    return pairs
