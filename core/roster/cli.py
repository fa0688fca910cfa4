"""Roster commands: ``chelun intake`` and ``chelun roster ...``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chelun.commands import (
    FormatOption,
    ProvinceOption,
    command_group,
    err,
    fail,
    friendly,
    load_settings,
    name_path_pairs,
    open_db,
    out,
    output_format,
    province_code,
    warn,
    write_export,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from chelun.roster.staging import SourceInput, StageResult
    from chelun.storage.db import Database

roster_app = command_group("Look at and export a province's roster.")


def register(app: typer.Typer) -> None:
    """Add the roster's commands to the ``chelun`` command line."""
    app.command()(intake)
    app.add_typer(roster_app, name="roster")


@friendly
def intake(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME=PATH",
            help="Files to ingest; NAME is the source in provenance (transport=licences.csv).",
        ),
    ],
    province: ProvinceOption,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="NAME=FILE",
            help="A TOML/JSON file mapping that source's headers to fields (docs/intake.md).",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Read every file again, even those unchanged since last time.")
    ] = False,
) -> None:
    """Ingest source files into a province's roster.

    Files are CSV in any usual encoding, XLSX, XLS or ODS. Each file's kind is recognised
    from its headers. Running again with the same or updated files is safe: unchanged files
    are skipped, changed ones replace what they said before.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from chelun.plugin_manager import PluginHost
    from chelun.roster.pipeline import run_intake
    from chelun.roster.report import print_intake_summary
    from chelun.roster.service import RosterIntake
    from chelun.roster.staging import SourceInput

    current = load_settings()
    code = province_code(province, current)
    files = name_path_pairs(sources, "source")
    maps = name_path_pairs(mapping or [], "mapping")
    unknown = sorted(set(maps) - set(files))
    if unknown:
        raise fail(f"--map names source(s) not being ingested: {', '.join(unknown)}", 2)
    for name, path in files.items():
        if not path.is_file():
            raise fail(f"source {name!r}: {path} does not exist or is not a file", 2)
    database = open_db(current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    intake = RosterIntake(database, pm, code, actor="user:cli")
    inputs = [SourceInput(name, path, maps.get(name)) for name, path in files.items()]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bars:
        outcome = run_intake(intake, inputs, force=force, progress=_CliProgress(bars, code))
    print_intake_summary(out, [outcome.summary])


class _CliProgress:
    """The intake's progress on stderr: a bar per file read here, or one line for files read
    in worker processes; then the staged files and the step under way."""

    STEPS = {"link": "linking", "verify": "verifying", "enrol": "enrolling"}

    def __init__(self, bars: Progress, province: str) -> None:
        self.bars = bars
        self.province = province
        self.step_task: TaskID | None = None

    def staging_file(self, source: SourceInput) -> Callable[[int], None]:
        task = self.bars.add_task(f"reading {source.name}", total=None)
        return lambda rows: self.bars.advance(task, rows)

    def staging_in_processes(self, files: int, processes: int) -> None:
        self.bars.add_task(f"reading {files} files in {processes} processes", total=None)

    def staged(self, results: Sequence[StageResult]) -> None:
        from chelun.sources.readers import shown_path

        for result in results:
            note = "unchanged, skipped" if result.skipped else f"{result.rows:,} rows"
            err.print(f"{result.source}: {result.profile} profile, {note}", highlight=False)
            if not result.skipped and result.rows == 0:
                warn(f"{result.source}: {shown_path(result.path)} has headers but no rows")
            if result.mostly_foreign:
                warn(
                    f"{result.source}: {result.foreign_ids:,} of its {result.valid_ids:,} valid "
                    f"ID numbers are of another province than {self.province}: is this the "
                    "right --province? Drivers are filed under the province ingested"
                )

    def step(self, name: str) -> None:
        description = self.STEPS.get(name, name)
        if self.step_task is None:
            self.step_task = self.bars.add_task(description, total=None)
        else:
            self.bars.update(self.step_task, description=description)


@roster_app.command("export")
@friendly
def roster_export(
    province: ProvinceOption,
    format: FormatOption = "csv",
    reveal: Annotated[
        bool,
        typer.Option(help="Show ID numbers, phones, names and party membership unmasked."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to a file, not stdout."),
    ] = None,
) -> None:
    """Write the roster as CSV: driver, id_number, name, phone, party_member, branch, sources.

    Personal data are masked unless --reveal is given (docs/intake.md, Exports).
    """
    from chelun.roster.export import export_roster

    output_format(format)
    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    _warn_if_never_ingested(database, code)
    write_export(output, lambda out: export_roster(database, code, out, reveal=reveal), "drivers")


@roster_app.command("quarantine")
@friendly
def roster_quarantine(province: ProvinceOption, format: FormatOption = "csv") -> None:
    """Write the quarantined rows as CSV: source, row, reason (what a clerk must fix)."""
    from chelun.roster.export import export_quarantine

    output_format(format)
    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    _warn_if_never_ingested(database, code)
    export_quarantine(database, code, sys.stdout)


def _warn_if_never_ingested(database: Database, province: str) -> None:
    from chelun.roster.service import source_accounts

    if not source_accounts(database, province):
        where = database.engine.url.render_as_string(hide_password=True)
        warn(
            f"no intake has been run for province {province} in the database at {where}: run "
            "chelun intake first, or set CHELUN_HOME (or CHELUN_DATABASE_URL) to where it ran"
        )


def _roster_step(province: str, step: str) -> None:
    """Run one later step of intake (verify or enrol) for a province, then show the figures."""
    from chelun.plugin_manager import PluginHost
    from chelun.roster.pipeline import STEP_FUNCTIONS
    from chelun.roster.report import print_intake_summary
    from chelun.roster.service import RosterIntake, roster_summary

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    intake = RosterIntake(database, PluginHost(current).manager(code), code, actor="user:cli")
    STEP_FUNCTIONS[step](intake)
    print_intake_summary(out, [roster_summary(database, code)])


@roster_app.command("verify")
@friendly
def roster_verify(province: ProvinceOption) -> None:
    """Move drivers through verification: cross-source match, phone check, home visit."""
    _roster_step(province, "verify")


@roster_app.command("enrol")
@friendly
def roster_enrol(province: ProvinceOption) -> None:
    """Enrol member drivers into branches and pair ordinary drivers with a member driver."""
    _roster_step(province, "enrol")


@roster_app.command("visits")
@friendly
def roster_visits(
    province: ProvinceOption,
    path: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="CSV with columns driver, outcome, visited_on, visitor, detail.",
        ),
    ],
) -> None:
    """Record home-visit results (上门走访) for drivers waiting at the visit stage."""
    import csv

    from pydantic import ValidationError

    from chelun.plugin_manager import PluginHost
    from chelun.roster.models import HomeVisit
    from chelun.roster.verification import Verification

    current = load_settings()
    code = province_code(province, current)
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
    database = open_db(current)
    verification = Verification(database, PluginHost(current).manager(code), code, actor="user:cli")
    recorded = verification.record_visits(visits, actor="user:cli")
    out.print(f"{recorded} of {len(visits)} visits recorded (others were not waiting for one)")


@roster_app.command("summary")
@friendly
def roster_summary_command(province: ProvinceOption) -> None:
    """Show the roster's figures and every source's row account."""
    from chelun.roster.report import print_intake_summary
    from chelun.roster.service import roster_summary

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    _warn_if_never_ingested(database, code)
    print_intake_summary(out, [roster_summary(database, code)])
