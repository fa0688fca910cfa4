"""Grievance commands: ``chelun grievance ...``."""

from __future__ import annotations

import sys
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
    open_db,
    out,
    output_format,
    province_code,
    warn,
    write_export,
)

if TYPE_CHECKING:
    import datetime as dt

    from chelun.grievance.service import GrievanceService

grievance_app = command_group(
    "Collect drivers' grievances and route them through the joint conferences (docs/grievances.md)."
)

RefArgument = Annotated[str, typer.Argument(metavar="REF", help="The grievance's reference.")]
NoteOption = Annotated[str, typer.Option("--note", help="Why, for the history (no personal data).")]


def register(app: typer.Typer) -> None:
    """Add the grievance commands to the ``chelun`` command line."""
    from chelun.grievance.notify import register_notify
    from chelun.grievance.platform import register_pull

    register_pull(grievance_app)
    register_notify(grievance_app)
    app.add_typer(grievance_app, name="grievance")


def _service(province: str) -> GrievanceService:
    from chelun.grievance.service import GrievanceService
    from chelun.plugin_manager import PluginHost

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    return GrievanceService(database, pm, code, actor="user:cli")


def _instant(value: str | None) -> dt.datetime | None:
    import datetime as dt

    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            f"--now {value!r} is not an ISO date and time (2027-03-01T09:00:00+08:00)", 2
        ) from None
    if parsed.tzinfo is None:
        from chelun.calendar import BEIJING

        parsed = parsed.replace(tzinfo=BEIJING)
    return parsed


def _run(action: object) -> None:
    """Turn a grievance the user named wrongly, or a transition not allowed, into one line."""
    from chelun.grievance.service import GrievanceError

    try:
        action()  # type: ignore[operator]
    except GrievanceError as exc:
        raise fail(str(exc)) from None


@grievance_app.command("import")
@friendly
def grievance_import(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="CSV (any encoding), XLSX or JSON Lines.")
    ],
    province: ProvinceOption,
) -> None:
    """Import grievances, then classify and route the new ones.

    Columns: ref, received_at (YYYY-MM-DD HH:MM, Beijing time), text, and optionally id_number,
    phone, name, county (six-digit code), channel. Importing the same file again adds nothing;
    malformed rows are kept as quarantined grievances with the reason.
    """
    if not file.is_file():
        raise fail(f"{file} does not exist or is not a file", 2)
    service = _service(province)
    result = service.import_file(file)
    routed = service.route_pending()
    err.print(
        f"{file.name}: {result.rows:,} rows, {result.added:,} new grievances "
        f"({result.quarantined:,} quarantined), {result.already:,} already imported; "
        f"{routed:,} routed",
        highlight=False,
    )
    if result.quarantined:
        warn(
            f"{result.quarantined:,} rows quarantined: see `chelun grievance quarantine -p "
            f"{service.province}`"
        )


@grievance_app.command("export")
@friendly
def grievance_export(
    province: ProvinceOption,
    format: FormatOption = "csv",
    reveal: Annotated[
        bool, typer.Option(help="Add names, phones, ID numbers and the texts, unmasked.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to a file, not stdout."),
    ] = None,
) -> None:
    """Write the grievances as CSV, one row each: ref, category, level, lead_department,
    status, received_at, deadlines, escalations and the driver's roster code."""
    from chelun.grievance.export import export_grievances

    output_format(format)
    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    write_export(
        output, lambda out: export_grievances(database, code, out, reveal=reveal), "grievances"
    )


@grievance_app.command("quarantine")
@friendly
def grievance_quarantine(province: ProvinceOption, format: FormatOption = "csv") -> None:
    """Write the quarantined rows as CSV: ref, channel, reason (what a clerk must fix)."""
    from chelun.grievance.export import export_quarantine

    output_format(format)
    current = load_settings()
    code = province_code(province, current)
    export_quarantine(open_db(current), code, sys.stdout)


@grievance_app.command("sweep")
@friendly
def grievance_sweep(
    province: ProvinceOption,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", metavar="ISO", help="Sweep as of this time (default: now); Beijing if no zone."
        ),
    ] = None,
) -> None:
    """Escalate grievances past their acknowledgement or resolution deadline one level up.

    Safe to run while another sweep runs: a grievance is escalated once.
    """
    at = _instant(now)
    service = _service(province)
    result = None

    def sweep() -> None:
        nonlocal result
        result = service.sweep(at)

    _run(sweep)
    assert result is not None
    err.print(
        f"province {service.province}: {result.overdue:,} overdue, {result.escalated:,} "
        f"escalated, {result.at_top:,} already at the highest conference",
        highlight=False,
    )


@grievance_app.command("list")
@friendly
def grievance_list(
    province: ProvinceOption,
    status: Annotated[
        str | None, typer.Option(metavar="STATUS", help="Only grievances in this status.")
    ] = None,
) -> None:
    """List grievances: ref, category, level, status, deadlines (no personal data)."""
    from rich.table import Table
    from sqlalchemy import select

    from chelun.storage.tables import GRIEVANCE_STATUSES, Grievance

    if status is not None and status not in GRIEVANCE_STATUSES:
        raise fail(f"unknown status {status!r}: one of {', '.join(GRIEVANCE_STATUSES)}", 2)
    service = _service(province)
    query = select(Grievance).where(Grievance.province == service.province)
    if status is not None:
        query = query.where(Grievance.status == status)
    table = Table("ref", "category", "level", "area", "status", "resolve_due", "esc.", "reason")
    with service.database.sessions() as session:
        for case in session.scalars(query.order_by(Grievance.id)):
            table.add_row(
                case.ref,
                case.category or "",
                case.level or "",
                case.area or "",
                case.status,
                case.resolve_due.isoformat() if case.resolve_due else "",
                str(case.escalations),
                case.status_reason or "",
            )
    out.print(table)


@grievance_app.command("matters")
@friendly
def grievance_matters(
    province: ProvinceOption,
    least: Annotated[
        int, typer.Option("--least", min=1, help="Only matters with at least this many.")
    ] = 2,
) -> None:
    """List matters: like grievances of many drivers (one platform, one service area) handled
    together by one conference, the largest first (no personal data)."""
    from rich.table import Table

    from chelun.grievance.matters import matters

    service = _service(province)
    with service.database.engine.connect() as connection:
        found = matters(connection, service.province, least=least)
    table = Table("matter", "category", "subject", "level", "area", "grievances", "drivers", "open")
    for matter in found:
        table.add_row(
            str(matter.id),
            matter.category,
            matter.subject,
            matter.level,
            matter.area,
            str(matter.cases),
            str(matter.drivers),
            str(matter.open),
        )
    out.print(table)
    if not found:
        err.print(f"no matter of {least} grievances or more in province {service.province}")


@grievance_app.command("show")
@friendly
def grievance_show(ref: RefArgument, province: ProvinceOption) -> None:
    """Show one grievance, where it stands and its history."""
    from chelun.calendar import BEIJING
    from chelun.grievance.service import beijing_text

    service = _service(province)
    found = []
    _run(lambda: found.extend([service.get(ref), service.history(ref)]))
    case, history = found
    lines = [
        ("ref", case.ref),
        ("status", case.status + (f" ({case.status_reason})" if case.status_reason else "")),
        ("category", f"{case.category or ''} (by {case.classified_by or '-'})"),
        ("conference", f"{case.level or ''} {case.area or ''} {case.unit or ''}"),
        ("lead", case.lead_department or ""),
        ("assisting", "、".join(case.assisting or [])),
        ("routed by", f"{case.routed_by or '-'}: {case.route_reason or ''}"),
        ("received", beijing_text(case.received_at)),
        ("acknowledge by", f"{case.ack_due or ''} ({case.ack_days} working days)"),
        (
            "resolve by",
            f"{case.resolve_due or ''} ({case.resolve_days} working days)"
            + (", provisional" if case.provisional else ""),
        ),
        ("escalations", str(case.escalations)),
    ]
    for label, value in lines:
        out.print(f"{label:>15}: {value}", highlight=False)
    out.print("history:", highlight=False)
    for event in history:
        at = event.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        out.print(f"  {at}  {event.kind:<12} {event.actor}: {event.reason}", highlight=False)


def _transition(province: str, ref: str, action: str, **kwargs: object) -> None:
    service = _service(province)
    status: list[str] = []
    _run(lambda: status.append(getattr(service, action)(ref, **kwargs)))
    err.print(f"grievance {ref}: {status[0]}", highlight=False)


@grievance_app.command("accept")
@friendly
def grievance_accept(ref: RefArgument, province: ProvinceOption, note: NoteOption = "") -> None:
    """Acknowledge a grievance (受理): the conference is working on it."""
    _transition(province, ref, "acknowledge", note=note)


@grievance_app.command("resolve")
@friendly
def grievance_resolve(ref: RefArgument, province: ProvinceOption, note: NoteOption = "") -> None:
    """Mark a grievance resolved (办结); the driver is then asked whether they are satisfied."""
    _transition(province, ref, "resolve", note=note)


@grievance_app.command("close")
@friendly
def grievance_close(
    ref: RefArgument,
    province: ProvinceOption,
    satisfied: Annotated[
        bool | None,
        typer.Option(
            "--satisfied/--not-satisfied", help="The driver's answer; not satisfied reopens it."
        ),
    ] = None,
    note: NoteOption = "",
) -> None:
    """Close a resolved grievance with the driver's answer (satisfied or not)."""
    if satisfied is None:
        raise fail("say the driver's answer: --satisfied or --not-satisfied", 2)
    _transition(province, ref, "close", satisfied=satisfied, note=note)


@grievance_app.command("reject")
@friendly
def grievance_reject(
    ref: RefArgument,
    province: ProvinceOption,
    reason: Annotated[str, typer.Option("--reason", help="Why (no personal data).")],
) -> None:
    """Reject a grievance (not a matter for the conferences, a duplicate by mistake ...)."""
    _transition(province, ref, "reject", reason=reason)


@grievance_app.command("merge")
@friendly
def grievance_merge(
    ref: RefArgument,
    province: ProvinceOption,
    into: Annotated[str, typer.Option("--into", metavar="REF", help="The grievance it joins.")],
    note: NoteOption = "",
) -> None:
    """Merge a grievance into another about the same matter."""
    _transition(province, ref, "merge", into=into, reason=note)


@grievance_app.command("stats")
@friendly
def grievance_stats(
    province: ProvinceOption,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="GROUPING",
            help="Group by province, city, county, category, period (month received, "
            "YYYY-MM) or week (ISO week received, YYYY-Www).",
        ),
    ] = "category",
    format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="table (default) or csv.")
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option(
            "--out", "--output", "-o", metavar="FILE", help="Write to a file, not stdout."
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            "--now",
            metavar="ISO",
            help="As of this time (default: now), which decides what is overdue; Beijing if "
            "no zone.",
        ),
    ] = None,
) -> None:
    """Collected, resolved, the closure, timely-handling and satisfaction rates with their
    denominators, median days to resolve, overdue and escalated, by a grouping and in all.

    A grievance's county is its own, else its driver's home county; its city is the county's
    first four digits and 00. CSV has a line a group, the total (group "all") last, each rate as
    a number from 0 to 1 beside its part and denominator.
    """
    from rich.console import Console
    from rich.table import Column, Table

    from chelun.grievance.stats import GROUPINGS, figure_rows, grouped_stats, rate, write_stats_csv
    from chelun.storage.events import now as current_time

    if by not in GROUPINGS:
        raise fail(f"--by {by!r} is not a grouping: one of {', '.join(GROUPINGS)}", 2)
    table_format = format.strip().lower() == "table"
    if not table_format and format.strip().lower() != "csv":
        raise fail(f"unknown format {format!r}: table or csv", 2)
    when = _instant(at) or current_time()
    service = _service(province)
    total, groups = grouped_stats(service.database, service.province, when, by)
    if not table_format:
        rows = figure_rows(total, groups)
        write_export(output, lambda stream: write_stats_csv(rows, stream), "groups")
        return
    table = Table(
        Column(by, no_wrap=True),
        "collected",
        "resolved",
        "closure rate",
        "timely rate",
        "satisfaction",
        "median days",
        "overdue",
        "escalated",
        title=f"Grievances of province {service.province} by {by}",
    )
    for name, figures in [*sorted(groups.items()), ("all", total)]:
        median = figures.median_days
        table.add_row(
            name,
            f"{figures.collected:,}",
            f"{figures.resolved:,}",
            rate(figures.resolved, figures.accepted),
            rate(figures.timely, figures.routed),
            rate(figures.satisfied, figures.answers),
            "-" if median is None else f"{median:.1f}",
            f"{figures.overdue:,}",
            f"{figures.escalated:,}",
        )
    legend = (
        "closure rate (办结率): resolved or closed / collected less rejected and merged; "
        "timely rate (及时处办率): routed, never escalated and not overdue / routed; "
        "satisfaction (满意率): satisfied / answers when closing. "
        f"{total.quarantined:,} quarantined rows are not counted."
    )
    if output is None:
        out.print(table)
        out.print(legend, highlight=False)
        return
    with output.open("w", encoding="utf-8") as handle:
        console = Console(file=handle, width=160, color_system=None)
        console.print(table)
        console.print(legend, highlight=False)
    err.print(f"{len(groups) + 1:,} groups written to {output}", highlight=False)
