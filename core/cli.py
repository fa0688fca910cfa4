"""The ``chelun`` command line: the framework's own commands (plugins, db, demo) and every
capability's, each added by its room's ``cli.register``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chelun.capabilities import CAPABILITIES, room
from chelun.commands import command_group, err, fail, friendly, load_settings, out
from chelun.schedules import register_calendar

app = command_group(
    "chelun: roster intake, grievances, claims and recognition for truck drivers' bodies.",
    pretty_exceptions_enable=False,
)
plugins_app = command_group("See which plugins are loaded.")
db_app = command_group("Manage the database schema.")
for capability in CAPABILITIES:
    room(capability, "cli").register(app)
register_calendar(app)
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")


@plugins_app.command("list")
@friendly
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List each plugin: its version, the provinces it serves and the hooks it implements, and
    each plugin left out (failed) with the reason."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from chelun.plugin_manager import PluginError, PluginFailure, PluginHost
    from chelun.settings import Settings

    def warn(failure: PluginFailure) -> None:
        err.print(Text.assemble(("warning: ", "bold yellow"), str(failure)), soft_wrap=True)

    try:
        host = PluginHost(Settings(), report=warn)
    except PluginError as exc:
        raise fail(str(exc)) from None
    infos = host.describe()
    if as_json:
        payload = [
            {
                "name": info.name,
                "version": info.version,
                "origin": info.origin,
                "provinces": list(info.provinces),
                "hooks": list(info.hooks),
                "status": "loaded",
                "error": None,
            }
            for info in infos
        ] + [
            {
                "name": failure.name,
                "version": "",
                "origin": failure.origin,
                "provinces": [],
                "hooks": [],
                "status": "failed",
                "error": failure.reason,
            }
            for failure in host.failures
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    # One entry per plugin, its hooks indented below: names a reader copies are never cut, at
    # any terminal width.
    for info in infos:
        served = "all provinces" if not info.provinces else "province " + ", ".join(info.provinces)
        out.print(
            Text.assemble((info.name, "bold"), f" {info.version}  {served}  ({info.origin})"),
            soft_wrap=True,
        )
        out.print(Padding(Text(", ".join(info.hooks) or "no hooks"), (0, 0, 0, 4)))
    if host.failures:
        failed = Table(title="plugins that failed to load (left out)", title_style="bold red")
        for column in ("plugin", "origin", "reason"):
            failed.add_column(column, no_wrap=column == "plugin")
        for failure in host.failures:
            failed.add_row(failure.name, failure.origin, failure.reason)
        out.print(failed)


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Apply pending migrations to the configured database (needed for PostgreSQL)."""
    from chelun.settings import Settings
    from chelun.storage.db import Database

    database = Database(Settings().resolved_database_url)
    database.upgrade()
    out.print(f"database at revision {database.current_revision()}")


@db_app.command("current")
@friendly
def db_current() -> None:
    """Show the database's schema revision and the newest one."""
    from chelun.settings import Settings
    from chelun.storage.db import Database

    database = Database(Settings().resolved_database_url)
    out.print(f"current: {database.current_revision() or 'none'}; head: {database.head_revision()}")


@app.command()
@friendly
def demo(
    drivers: Annotated[
        int, typer.Option(help="How many drivers the synthetic pilot has, over four provinces.")
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2022,
) -> None:
    """Run the intake flow on a synthetic four-province pilot.

    Files land in CHELUN_HOME/demo; the roster in the configured database (embedded SQLite by
    default). Prints the pilot's figures: drivers, members and their share, sources merged,
    quarantined rows by reason.
    """
    if drivers < 4:
        raise fail("--drivers must be at least 4 (one per province)", 2)
    current = load_settings()
    from chelun.demo.claims import print_claim_figures
    from chelun.demo.run import print_grievance_figures, print_where_to_look, run_demo
    from chelun.roster.report import print_intake_summary

    summaries = run_demo(current, drivers=drivers, seed=seed, console=err)
    print_intake_summary(out, summaries, title="Synthetic pilot: roster intake")
    print_grievance_figures(current, [summary.province for summary in summaries], out)
    print_claim_figures(
        current.resolved_database_url, [summary.province for summary in summaries], out
    )
    print_where_to_look(current, out)
