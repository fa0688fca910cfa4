"""The ``chelun`` command line: the framework's own commands (plugins, db, demo) and every
capability's, each added by its room's ``cli.register``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chelun.capabilities import CAPABILITIES, room
from chelun.commands import err, fail, load_settings, out
from chelun.plugin_manager import PluginError, PluginHost
from chelun.settings import Settings
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError

app = typer.Typer(
    help="chelun: roster intake, grievances, claims and recognition for truck drivers' bodies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
plugins_app = typer.Typer(help="See which plugins are loaded.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
for capability in CAPABILITIES:
    room(capability, "cli").register(app)
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")


@plugins_app.command("list")
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List each plugin: its version, the provinces it serves and the hooks it implements, and
    each plugin left out (failed) with the reason."""
    from rich.table import Table
    from rich.text import Text

    from chelun.plugin_manager import PluginFailure

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
    table = Table(title="chelun plugins")
    # Plugin and hook names are identifiers a reader copies: never broken across lines.
    for column in ("plugin", "version", "provinces", "hooks", "origin"):
        table.add_column(column, no_wrap=column in ("plugin", "hooks"))
    for info in infos:
        table.add_row(
            info.name,
            info.version,
            ", ".join(info.provinces) or "all (neutral)",
            "\n".join(info.hooks) or "-",
            info.origin,
        )
    out.print(table)
    if host.failures:
        failed = Table(title="plugins that failed to load (left out)", title_style="bold red")
        for column in ("plugin", "origin", "reason"):
            failed.add_column(column, no_wrap=column == "plugin")
        for failure in host.failures:
            failed.add_row(failure.name, failure.origin, failure.reason)
        out.print(failed)


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
    current = load_settings()
    from chelun.demo.run import run_demo

    try:
        summaries = run_demo(current, drivers=drivers, seed=seed, console=err)
    except (SourceReadError, ProfileError, PluginError) as exc:
        raise fail(str(exc)) from None
    from chelun.roster.report import print_intake_summary

    print_intake_summary(out, summaries, title="Synthetic pilot: roster intake")


def main() -> None:  # pragma: no cover - console entry point
    app()
