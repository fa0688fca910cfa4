"""The ``chelun`` command line: the framework's own commands (plugins, db, demo) and every
capability's, each added by its room's ``cli.register``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from chelun.capabilities import CAPABILITIES, room
from chelun.commands import command_group, err, fail, friendly, load_settings, out
from chelun.ops.cli import register_ops
from chelun.ops.report import register_report
from chelun.schedules import register_calendar

app = command_group(
    "chelun: roster intake, grievances, claims and recognition for truck drivers' bodies.",
    pretty_exceptions_enable=False,
)


@app.callback()
@friendly
def main(ctx: typer.Context) -> None:
    """Configure logging before every command: context, masking, a masked report of a crash."""
    from chelun.logs import configure_cli_logging

    configure_cli_logging(ctx.invoked_subcommand)


plugins_app = command_group(
    "See which plugins are loaded, start a new one, check one (docs/plugins.md)."
)
db_app = command_group("Manage the database schema.")
for capability in CAPABILITIES:
    room(capability, "cli").register(app)
register_calendar(app)
register_report(app)
register_ops(app)
app.add_typer(plugins_app, name="plugins")
app.add_typer(db_app, name="db")


@plugins_app.command("list")
@friendly
def plugins_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    hook: Annotated[
        str | None,
        typer.Option(
            "--hook", metavar="NAME", help="Only the plugins implementing this hook (chelun_...)."
        ),
    ] = None,
) -> None:
    """List each plugin: its version, the provinces it serves, the hook API it supports and the
    hooks it implements, and each plugin left out (failed) with the reason. With --hook, only
    the loaded plugins implementing that hook (a warning on stderr names those left out)."""
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    from chelun.plugin_manager import PluginError, PluginFailure, PluginHost
    from chelun.settings import Settings

    if hook is not None:
        hook = _known_hook(hook)

    def warn(failure: PluginFailure) -> None:
        err.print(Text.assemble(("warning: ", "bold yellow"), str(failure)), soft_wrap=True)

    try:
        host = PluginHost(Settings(), report=warn)
    except PluginError as exc:
        raise fail(str(exc)) from None
    infos = host.describe()
    failures = host.failures
    if hook is not None:
        infos = [info for info in infos if hook in info.hooks]
        failures = []
    if as_json:
        payload = [
            {
                "name": info.name,
                "version": info.version,
                "origin": info.origin,
                "provinces": list(info.provinces),
                "hooks": list(info.hooks),
                "hook_api": info.hook_api,
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
                "hook_api": None,
                "status": "failed",
                "error": failure.reason,
            }
            for failure in failures
        ]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    # One entry per plugin, its hooks indented below: names a reader copies are never cut, at
    # any terminal width.
    for info in infos:
        served = "all provinces" if not info.provinces else "province " + ", ".join(info.provinces)
        api = f"  hook API {info.hook_api}" if info.hook_api else ""
        out.print(
            Text.assemble((info.name, "bold"), f" {info.version}  {served}{api}  ({info.origin})"),
            soft_wrap=True,
        )
        out.print(Padding(Text(", ".join(info.hooks) or "no hooks"), (0, 0, 0, 4)))
    if hook is not None and not infos:
        out.print(f"no plugin implements {hook}", highlight=False)
    if failures:
        failed = Table(title="plugins that failed to load (left out)", title_style="bold red")
        for column in ("plugin", "origin", "reason"):
            failed.add_column(column, no_wrap=column == "plugin")
        for failure in failures:
            failed.add_row(failure.name, failure.origin, failure.reason)
        out.print(failed)


def _known_hook(name: str) -> str:
    """``name`` when it is a hook of this chelun; a usage error naming the closest otherwise."""
    import difflib

    from chelun.capabilities import spec_classes

    hooks = [h for spec in spec_classes() for h in vars(spec) if h.startswith("chelun_")]
    if name in hooks:
        return name
    close = difflib.get_close_matches(name, hooks, n=1) or difflib.get_close_matches(
        f"chelun_{name}", hooks, n=1
    )
    hint = f"did you mean {close[0]}? " if close else ""
    raise fail(f"no hook {name!r}: {hint}docs/hooks.md lists every hook", 2)


@plugins_app.command("new")
@friendly
def plugins_new(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The plugin's name, e.g. zhejiang.")],
    province: Annotated[
        str,
        typer.Option(
            "--province",
            "-p",
            metavar="CODE",
            help="The province it serves: a two-digit code (33) or a pilot province's name.",
        ),
    ],
    directory: Annotated[
        str,
        typer.Option(
            "--directory", metavar="DIR", help="Where to write it (default: this folder)."
        ),
    ] = ".",
) -> None:
    """Write a new plugin package, chelun-NAME/: pyproject.toml with the entry point, the plugin
    module with one example hook per capability, its tests (which pass as written) and a
    README. Then: cd chelun-NAME, pip install -e ., pytest, chelun plugins check NAME."""
    from pathlib import Path

    from chelun.kit.commands import plugins_new as write

    write(name, province, Path(directory))


@plugins_app.command("check")
@friendly
def plugins_check(
    plugin: Annotated[
        str,
        typer.Argument(
            metavar="PATH_OR_NAME",
            help="An installed plugin's name, its package folder (with pyproject.toml), or a "
            ".py file.",
        ),
    ],
    province: Annotated[
        str | None,
        typer.Option(
            "--province",
            "-p",
            metavar="CODE",
            help="The province to check it for (default: the first it serves).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", min=0.1, help="Seconds a hook has to answer."),
    ] = 60.0,
) -> None:
    """Run the conformance checks on a plugin and print a report: it loads; its hook API;
    signatures fit the hooks; answers to sample inputs have the right types; decision hooks are
    deterministic; no other province's data touched; no personal data logged. Exits 1 when a
    check fails."""
    from chelun.kit.commands import plugins_check as check

    code = check(plugin, province, as_json=as_json, timeout=timeout)
    if code:
        raise typer.Exit(code)


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
