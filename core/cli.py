"""The ``chelun`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from chelun.divisions import resolve_province
from chelun.offline import configure_prefect
from chelun.plugin_manager import PluginError, PluginHost
from chelun.roster.profiles import ProfileError
from chelun.roster.readers import SourceReadError
from chelun.settings import Settings

app = typer.Typer(
    help="chelun: roster intake, grievances, claims and recognition for truck drivers' bodies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
roster_app = typer.Typer(help="Look at and export a province's roster.", no_args_is_help=True)
plugins_app = typer.Typer(help="See which plugins are loaded.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(roster_app, name="roster")
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")

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
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _province(value: str) -> str:
    try:
        return resolve_province(value)
    except ValueError as exc:
        raise fail(str(exc), 2) from None


def _settings() -> Settings:
    settings = Settings()
    configure_prefect(settings.home)
    return settings


def _database(settings: Settings):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    from chelun.storage.db import open_database

    try:
        return open_database(settings)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    except OperationalError as exc:
        from sqlalchemy.engine import make_url

        where = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise fail(
            f"cannot open the database at {where}: {reason}; check CHELUN_DATABASE_URL "
            "and that the server is running"
        ) from None


def _pairs(values: list[str], what: str) -> dict[str, Path]:
    pairs: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise fail(f"{what} {value!r} is not NAME=PATH (e.g. transport=licences.csv)", 2)
        if name in pairs:
            raise fail(f"source name {name!r} is given twice", 2)
        pairs[name] = Path(path)
    return pairs


@app.command()
def intake(
    sources: Annotated[
        list[str],
        typer.Argument(help="Files to ingest as NAME=PATH; NAME is the source in provenance."),
    ],
    province: ProvinceOption,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="NAME=FILE: a TOML/JSON file mapping that source's headers to fields."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Read every file again, even those unchanged since last time.")
    ] = False,
) -> None:
    """Ingest source files (CSV in any usual encoding, or XLSX) into a province's roster.

    Each file's kind is recognised from its headers; re-running with the same or updated files
    is safe: unchanged files are skipped, changed ones replace what they said before.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from chelun.roster.service import PARALLEL_MIN_BYTES, RosterIntake
    from chelun.roster.staging import SourceInput

    code = _province(province)
    files = _pairs(sources, "source")
    maps = _pairs(mapping or [], "mapping")
    unknown = sorted(set(maps) - set(files))
    if unknown:
        raise fail(f"--map names source(s) not being ingested: {', '.join(unknown)}", 2)
    for name, path in files.items():
        if not path.is_file():
            raise fail(f"source {name!r}: {path} does not exist or is not a file", 2)
    settings = _settings()
    database = _database(settings)
    try:
        pm = PluginHost(settings).manager(code)
        intake = RosterIntake(database, pm, code, actor="user:cli")
        inputs = [SourceInput(name, path, maps.get(name)) for name, path in files.items()]
        volume = sum(path.stat().st_size for path in files.values())
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            if settings.workers > 1 and volume >= PARALLEL_MIN_BYTES:
                progress.add_task(
                    f"reading {len(inputs)} files in {settings.workers} processes", total=None
                )
                results = intake.stage_all(inputs, force=force, workers=settings.workers)
            else:
                results = []
                for source in inputs:
                    task = progress.add_task(f"reading {source.name}", total=None)
                    results.append(
                        intake.stage(
                            source,
                            force=force,
                            progress=lambda n, task=task: progress.advance(task, n),
                        )
                    )
            for result in results:
                note = "unchanged, skipped" if result.skipped else f"{result.rows:,} rows"
                err.print(f"{result.source}: {result.profile} profile, {note}", highlight=False)
            progress.add_task("linking, verifying, enrolling", total=None)
            intake.link()
            intake.verify()
            intake.enrol(cap=settings.pairing_cap)
    except (SourceReadError, ProfileError, PluginError) as exc:
        raise fail(str(exc)) from None
    from chelun.report import print_intake_summary

    print_intake_summary(out, [intake.summary()])


@roster_app.command("export")
def roster_export(
    province: ProvinceOption,
    format: Annotated[str, typer.Option("--format", help="Output format: csv.")] = "csv",
    reveal: Annotated[
        bool,
        typer.Option(help="Show ID numbers, phones, names and party membership unmasked."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file instead of stdout.")
    ] = None,
) -> None:
    """Write the roster as CSV: driver, id_number, name, phone, party_member, branch, sources ..."""
    from chelun.roster.export import export_roster

    if format != "csv":
        raise fail(f"unknown format {format!r}: csv is supported", 2)
    code = _province(province)
    database = _database(_settings())
    if output is None:
        export_roster(database, code, sys.stdout, reveal=reveal)
    else:
        with output.open("w", encoding="utf-8", newline="") as handle:
            count = export_roster(database, code, handle, reveal=reveal)
        err.print(f"{count:,} drivers written to {output}")


@roster_app.command("quarantine")
def roster_quarantine(
    province: ProvinceOption,
    format: Annotated[str, typer.Option("--format", help="Output format: csv.")] = "csv",
) -> None:
    """Write the quarantined rows as CSV: source, row, reason (what a clerk must fix)."""
    from chelun.roster.export import export_quarantine

    if format != "csv":
        raise fail(f"unknown format {format!r}: csv is supported", 2)
    code = _province(province)
    export_quarantine(_database(_settings()), code, sys.stdout)


def _roster_step(province: str, step: str) -> None:
    """Run one later step of intake (verify or enrol) for a province, then show the figures."""
    from chelun.report import print_intake_summary
    from chelun.roster.service import RosterIntake, roster_summary

    code = _province(province)
    settings = _settings()
    database = _database(settings)
    intake = RosterIntake(database, PluginHost(settings).manager(code), code, actor="user:cli")
    try:
        if step == "verify":
            intake.verify()
        else:
            intake.enrol(cap=settings.pairing_cap)
    except PluginError as exc:
        raise fail(str(exc)) from None
    print_intake_summary(out, [roster_summary(database, code)])


@roster_app.command("verify")
def roster_verify(province: ProvinceOption) -> None:
    """Move drivers through verification: cross-source match, phone check, home visit."""
    _roster_step(province, "verify")


@roster_app.command("enrol")
def roster_enrol(province: ProvinceOption) -> None:
    """Enrol member drivers into branches and pair ordinary drivers with a member driver."""
    _roster_step(province, "enrol")


@roster_app.command("visits")
def roster_visits(
    province: ProvinceOption,
    path: Annotated[
        Path, typer.Argument(help="CSV with columns driver, outcome, visited_on, visitor, detail.")
    ],
) -> None:
    """Record home-visit results (上门走访) for drivers waiting at the visit stage."""
    import csv

    from pydantic import ValidationError

    from chelun.models.roster import HomeVisit
    from chelun.roster.verification import Verification

    code = _province(province)
    visits = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=1):
                try:
                    visits.append(HomeVisit.model_validate(row))
                except ValidationError as exc:
                    fields = ", ".join(str(e["loc"][0]) for e in exc.errors())
                    raise fail(f"{path}: row {number}: invalid or missing {fields}", 2) from None
    except OSError as exc:
        raise fail(f"{path}: cannot read: {exc.strerror}", 2) from None
    settings = _settings()
    database = _database(settings)
    verification = Verification(
        database, PluginHost(settings).manager(code), code, actor="user:cli"
    )
    recorded = verification.record_visits(visits, actor="user:cli")
    out.print(f"{recorded} of {len(visits)} visits recorded (others were not waiting for one)")


@roster_app.command("summary")
def roster_summary_command(province: ProvinceOption) -> None:
    """Show the roster's figures and every source's row account."""
    from chelun.report import print_intake_summary
    from chelun.roster.service import roster_summary

    code = _province(province)
    print_intake_summary(out, [roster_summary(_database(_settings()), code)])


@plugins_app.command("list")
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List each plugin: its version, the provinces it serves and the hooks it implements."""
    from rich.table import Table

    try:
        infos = PluginHost(Settings()).describe()
    except PluginError as exc:
        raise fail(str(exc)) from None
    if as_json:
        payload = [
            {
                "name": info.name,
                "version": info.version,
                "origin": info.origin,
                "provinces": list(info.provinces),
                "hooks": list(info.hooks),
            }
            for info in infos
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    table = Table(title="chelun plugins")
    for column in ("plugin", "version", "provinces", "hooks", "origin"):
        table.add_column(column)
    for info in infos:
        table.add_row(
            info.name,
            info.version,
            ", ".join(info.provinces) or "all (neutral)",
            "\n".join(info.hooks) or "-",
            info.origin,
        )
    out.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the configured database (needed for PostgreSQL)."""
    from chelun.storage.db import Database

    settings = Settings()
    database = Database(settings.resolved_database_url)
    database.upgrade()
    out.print(f"database at revision {database.current_revision()}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision and the newest one."""
    from chelun.storage.db import Database

    database = Database(Settings().resolved_database_url)
    out.print(f"current: {database.current_revision() or 'none'}; head: {database.head_revision()}")


@app.command()
def demo(
    drivers: Annotated[
        int, typer.Option(help="How many drivers the synthetic pilot has, over four provinces.")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2022,
) -> None:
    """Generate a synthetic four-province pilot and run the intake flow on it.

    Files land in CHELUN_HOME/demo; the roster in the configured database (embedded SQLite by
    default). Prints the pilot's figures: drivers, members and their share, sources merged,
    quarantined rows by reason.
    """
    if drivers < 4:
        raise fail("--drivers must be at least 4 (one per province)", 2)
    settings = _settings()
    from chelun.demo.run import run_demo

    try:
        summaries = run_demo(settings, drivers=drivers, seed=seed, console=err)
    except (SourceReadError, ProfileError, PluginError) as exc:
        raise fail(str(exc)) from None
    from chelun.report import print_intake_summary

    print_intake_summary(out, summaries, title="Synthetic pilot: roster intake")


def main() -> None:  # pragma: no cover - console entry point
    app()
