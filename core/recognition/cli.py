"""Recognition commands: ``chelun awards ...`` (campaigns) and ``chelun visits ...`` (care
visits)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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

    from chelun.recognition.service import AwardService, Refusal
    from chelun.recognition.visits import VisitService

awards_app = command_group(
    "Award campaigns (评选表彰): open a campaign, take nominations and reviewers' scores, check, "
    "rank, give public notice, handle objections and publish the final list "
    "(docs/recognition.md)."
)
visits_app = command_group(
    "Care visits (走访慰问) to member drivers and drivers in hardship: plan a month's visits, "
    "record their outcomes, count the drivers visited (docs/recognition.md)."
)

CampaignOption = Annotated[
    int, typer.Option("--campaign", "-c", metavar="ID", help="The campaign's ID (awards list).")
]
NomineeOption = Annotated[
    str,
    typer.Option(
        "--nominee",
        metavar="NOMINEE",
        help="The nominee: a driver code (32-0000042), an ID number or a fleet's credit code.",
    ),
]
ReasonOption = Annotated[
    str, typer.Option("--reason", metavar="TEXT", help="Why, for the history (no personal data).")
]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now", metavar="ISO", help="Act as of this time (default: now); Beijing if no zone."
    ),
]
FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="CSV (any encoding) or XLSX.")]
PeriodOption = Annotated[
    str, typer.Option("--period", metavar="YYYY-MM", help="The month the visits are for.")
]


def register(app: typer.Typer) -> None:
    """Add the award and visit commands to the ``chelun`` command line."""
    app.add_typer(awards_app, name="awards")
    app.add_typer(visits_app, name="visits")


@contextmanager
def _explained() -> Iterator[None]:
    """A campaign or visit the user named wrongly, or a step not allowed, in one line."""
    from chelun.recognition.service import AwardError
    from chelun.recognition.visits import VisitError

    try:
        yield
    except (AwardError, VisitError) as exc:
        raise fail(str(exc)) from None


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


def _date(value: str | None, option: str) -> dt.date | None:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", 2) from None


def _service(province: str | None = None, campaign: int | None = None) -> AwardService:
    """The award service of a province, or of the province a campaign belongs to."""
    from chelun.plugin_manager import PluginHost
    from chelun.recognition.service import AwardService, province_of_campaign

    current = load_settings()
    database = open_db(current)
    if campaign is not None:
        with _explained():
            code = province_of_campaign(database, campaign)
    else:
        code = province_code(province or "", current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    return AwardService(database, pm, code, actor="user:cli")


def _visit_service(province: str) -> VisitService:
    from chelun.plugin_manager import PluginHost
    from chelun.recognition.visits import VisitService

    current = load_settings()
    code = province_code(province, current)
    database = open_db(current)
    pm = PluginHost(current, report=lambda failure: warn(str(failure))).manager(code)
    return VisitService(database, pm, code, actor="user:cli")


def _refusals(refused: list[Refusal], what: str) -> None:
    for refusal in refused:
        err.print(f"refused: row {refusal.row}: {refusal.reason}", highlight=False, soft_wrap=True)
    if refused:
        raise fail(f"{len(refused)} {what} refused and recorded (see above); the others are kept")


def _check_file(file: Path) -> None:
    if not file.is_file():
        raise fail(f"{file} does not exist or is not a file", 2)


@awards_app.command("kinds")
@friendly
def awards_kinds(province: ProvinceOption) -> None:
    """List the province's awards: who can be nominated and by whom, the quotas, the criteria
    and their weights, the facts that add points, the public notice and the disqualifiers."""
    service = _service(province)
    for code, (kind, plugin) in sorted(service.kinds().items()):
        quotas = kind.quotas
        lines = [
            ("award", f"{code}: {kind.name} (from {plugin})"),
            ("nominee", kind.nominee.replace("_", " ")),
            ("nominated by", ", ".join(k.replace("_", " ") for k in kind.nominators)),
            (
                "quotas",
                f"{_limit(quotas.nominations_per_unit)} nomination(s) per unit; places: "
                f"{_limit(quotas.per_unit)} per unit, {_limit(quotas.per_city)} per city, "
                f"{_limit(quotas.per_province)} in the province",
            ),
            (
                "criteria",
                ", ".join(
                    f"{c.code} ({c.name}) x{c.weight}, 0-{c.max_score}" for c in kind.criteria
                ),
            ),
            (
                "facts",
                ", ".join(f"{f.fact} {f.points}/unit up to {f.cap}" for f in kind.facts) or "none",
            ),
            ("public notice", f"{kind.notice_days} working days"),
            ("disqualifiers", ", ".join(kind.disqualifiers) or "none"),
        ]
        for label, value in lines:
            out.print(f"{label:>14}: {value}", highlight=False, soft_wrap=True)
        out.print("")


def _limit(value: int | None) -> str:
    return "no limit of" if value is None else str(value)


@awards_app.command("open")
@friendly
def awards_open(
    province: ProvinceOption,
    kind: Annotated[str, typer.Option("--kind", metavar="AWARD", help="The award (awards kinds).")],
    name: Annotated[
        str, typer.Option("--name", metavar="TEXT", help="The campaign's name, e.g. 2027年度…")
    ],
    nominations_close: Annotated[
        str,
        typer.Option("--nominations-close", metavar="DATE", help="Last day nominations are taken."),
    ],
    nominations_open: Annotated[
        str | None,
        typer.Option(
            "--nominations-open", metavar="DATE", help="First day nominations are taken (today)."
        ),
    ] = None,
    period_start: Annotated[
        str | None,
        typer.Option(
            "--period-start",
            metavar="DATE",
            help="First day eligibility looks at (default: CHELUN_AWARDS_PERIOD_DAYS back).",
        ),
    ] = None,
    period_end: Annotated[
        str | None,
        typer.Option(
            "--period-end",
            metavar="DATE",
            help="Last day eligibility looks at (default: the day before nominations open).",
        ),
    ] = None,
    now: NowOption = None,
) -> None:
    """Open a campaign for nominations and print its ID.

    The award's rules (quotas, criteria, notice, disqualifiers) are kept with the campaign as
    they are now.
    """
    close = _date(nominations_close, "--nominations-close")
    assert close is not None
    service = _service(province)
    with _explained():
        campaign = service.open(
            kind,
            name,
            close,
            nominations_open=_date(nominations_open, "--nominations-open"),
            period_start=_date(period_start, "--period-start"),
            period_end=_date(period_end, "--period-end"),
            at=_instant(now),
        )
    typer.echo(campaign)
    err.print(
        f"campaign {campaign} ({kind}) is open for nominations until {close}: chelun awards "
        f"nominate --campaign {campaign} FILE",
        highlight=False,
        soft_wrap=True,
    )


@awards_app.command("list")
@friendly
def awards_list(province: ProvinceOption) -> None:
    """List the province's campaigns: ID, award, status, dates and name."""
    service = _service(province)
    campaigns = service.campaigns()
    for campaign in campaigns:
        notice = f", notice to {campaign.notice_end}" if campaign.notice_end else ""
        out.print(
            f"{campaign.id:>4}  {campaign.kind}  {campaign.status}: nominations "
            f"{campaign.nominations_open} to {campaign.nominations_close}{notice}; "
            f"{campaign.name}",
            highlight=False,
            soft_wrap=True,
        )
    if not campaigns:
        err.print(f"no campaign in province {service.province}", highlight=False)


@awards_app.command("show")
@friendly
def awards_show(campaign: CampaignOption) -> None:
    """Show a campaign, its nominees by status and its history (no personal data)."""
    from collections import Counter

    from chelun.calendar import BEIJING

    service = _service(campaign=campaign)
    with _explained():
        found = service.get(campaign)
        nominations = service.nominations(campaign)
        history = service.history(campaign)
    counts = Counter(n.status for n in nominations)
    lines = [
        ("campaign", f"{found.id}: {found.name} ({found.kind}, province {found.province})"),
        ("status", found.status),
        ("nominations", f"{found.nominations_open} to {found.nominations_close}"),
        ("period", f"{found.period_start} to {found.period_end}"),
        (
            "notice",
            f"{found.notice_start} to {found.notice_end}"
            + (", provisional" if found.provisional else "")
            if found.notice_end
            else "",
        ),
        ("nominees", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"),
    ]
    for label, value in lines:
        out.print(f"{label:>12}: {value}", highlight=False, soft_wrap=True)
    out.print("history:", highlight=False)
    for event in history:
        at = event.at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        who = event.entity_key.rsplit(":", 1)[-1] if event.entity != "award_campaign" else ""
        out.print(
            f"  {at}  {event.kind:<20} {who:<18} {event.actor}: {event.reason}",
            highlight=False,
            soft_wrap=True,
        )


@awards_app.command("nominate")
@friendly
def awards_nominate(campaign: CampaignOption, file: FileArgument, now: NowOption = None) -> None:
    """Take a file of nominations: columns nominee (driver code, ID number, or a fleet's credit
    code), unit (branch code, enterprise credit code or city code) and reason.

    Rows naming nobody or no unit, a unit the award does not take, a second nomination of the
    same nominee, an ineligible nominee or a unit over its quota are refused, each with its row
    and reason, and recorded in the campaign's history; the other rows are kept. Exit 1 when
    any row was refused.
    """
    _check_file(file)
    service = _service(campaign=campaign)
    with _explained():
        result = service.nominate(campaign, file, at=_instant(now))
    err.print(
        f"{file.name}: {result.rows} row(s), {result.accepted} nominee(s) accepted, "
        f"{len(result.refused)} refused",
        highlight=False,
        soft_wrap=True,
    )
    _refusals(result.refused, "nomination(s)")


@awards_app.command("score")
@friendly
def awards_score(campaign: CampaignOption, file: FileArgument) -> None:
    """Take a file of reviewers' scores: columns nominee, criterion, reviewer, score.

    A reviewer's later score of the same criterion replaces the earlier one, until the campaign
    is scored. Rows that name no nomination, no criterion of the award or a score out of range
    are refused (exit 1); the others are kept.
    """
    _check_file(file)
    service = _service(campaign=campaign)
    with _explained():
        result = service.record_scores(campaign, file)
    err.print(
        f"{file.name}: {result.rows} row(s), {result.recorded} score(s) recorded, "
        f"{len(result.refused)} refused",
        highlight=False,
        soft_wrap=True,
    )
    _refusals(result.refused, "score row(s)")


@awards_app.command("advance")
@friendly
def awards_advance(campaign: CampaignOption, now: NowOption = None) -> None:
    """Take the campaign one step: close nominations (after the window), check eligibility,
    score, rank and apply the quotas, start the public notice, end it (after its last working
    day), publish (once every objection is decided)."""
    service = _service(campaign=campaign)
    with _explained():
        result = service.advance(campaign, at=_instant(now))
    err.print(
        f"campaign {campaign}: {result.before} -> {result.after}: {result.summary}",
        highlight=False,
        soft_wrap=True,
    )


@awards_app.command("object")
@friendly
def awards_object(
    campaign: CampaignOption,
    nominee: NomineeOption,
    reason: ReasonOption,
    decision: Annotated[
        bool | None,
        typer.Option(
            "--uphold/--dismiss",
            help="Decide the nominee's pending objection instead of raising one: upheld, the "
            "nominee is excluded and the next in rank takes the place.",
        ),
    ] = None,
    now: NowOption = None,
) -> None:
    """Raise an objection (异议) to a shortlisted nominee during the public notice; with
    --uphold or --dismiss, decide the nominee's oldest pending objection."""
    service = _service(campaign=campaign)
    with _explained():
        if decision is None:
            objection = service.object(campaign, nominee, reason, at=_instant(now))
            err.print(f"objection {objection} raised", highlight=False, soft_wrap=True)
            return
        promoted = service.decide_objection(campaign, nominee, decision, reason)
    err.print(
        f"objection {'upheld' if decision else 'dismissed'}"
        + (f"; promoted: {', '.join(promoted)}" if promoted else ""),
        highlight=False,
        soft_wrap=True,
    )


@awards_app.command("withdraw")
@friendly
def awards_withdraw(campaign: CampaignOption, nominee: NomineeOption, reason: ReasonOption) -> None:
    """Withdraw a nomination before the list is published; a place it held goes to the next in
    rank who fits the quotas."""
    service = _service(campaign=campaign)
    with _explained():
        promoted = service.withdraw(campaign, nominee, reason)
    err.print(
        "nomination withdrawn" + (f"; promoted: {', '.join(promoted)}" if promoted else ""),
        highlight=False,
        soft_wrap=True,
    )


@awards_app.command("publish")
@friendly
def awards_publish(campaign: CampaignOption, now: NowOption = None) -> None:
    """Publish the final list (after the public notice, every objection decided) and send it
    where the province's plugins say; run again to resend publications that failed."""
    service = _service(campaign=campaign)
    with _explained():
        result = service.publish(campaign, at=_instant(now))
    err.print(
        f"campaign {campaign}: {result.summary}; publications sent {result.counts.get('sent', 0)}"
        f", failed {result.counts.get('failed', 0)}",
        highlight=False,
        soft_wrap=True,
    )
    if result.counts.get("failed"):
        raise fail("some publications failed: run chelun awards publish again to resend them")


@awards_app.command("export")
@friendly
def awards_export(
    campaign: CampaignOption,
    format: FormatOption = "csv",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to a file, not stdout."),
    ] = None,
) -> None:
    """Write the campaign's list as CSV: rank, nominee, total_score, status (awarded, excluded,
    withdrawn or not placed once published) and reason, then the unit, city and points."""
    from chelun.recognition.export import export_campaign

    output_format(format)
    service = _service(campaign=campaign)
    with _explained():
        service.get(campaign)
    write_export(output, lambda out: export_campaign(service.database, campaign, out), "nominees")


# --- care visits ---------------------------------------------------------------------------------


@visits_app.command("plan")
@friendly
def visits_plan(province: ProvinceOption, period: PeriodOption, now: NowOption = None) -> None:
    """Plan a month's visits: member drivers not visited lately and drivers in hardship (a
    claim rejected lately, a grievance long unresolved), each assigned to a branch secretary or
    an instructor. Planning the month again adds only drivers not planned yet."""
    service = _visit_service(province)
    with _explained():
        result = service.plan(period, at=_instant(now))
    err.print(
        f"province {service.province} {period}: {result.candidates} candidate(s), "
        f"{result.planned} visit(s) planned ({result.members} member, {result.hardship} "
        "hardship)",
        highlight=False,
        soft_wrap=True,
    )


@visits_app.command("list")
@friendly
def visits_list(province: ProvinceOption, period: PeriodOption) -> None:
    """List a month's visits: driver code, why, who visits, where, status (no personal data)."""
    from chelun.identity.codes import driver_code

    service = _visit_service(province)
    with _explained():
        visits = service.visits(period)
    for visit in visits:
        place = f" at {visit.place}" if visit.place else ""
        visited = f" on {visit.visited_on}" if visit.visited_on else ""
        out.print(
            f"{driver_code(service.province, visit.driver_id)}  {visit.kind:<8}  "
            f"{visit.status}{visited}  {visit.role.replace('_', ' ')} {visit.unit}{place}: "
            f"{visit.reason}",
            highlight=False,
            soft_wrap=True,
        )
    if not visits:
        err.print(f"no visit planned in {period}", highlight=False)


@visits_app.command("record")
@friendly
def visits_record(province: ProvinceOption, file: FileArgument) -> None:
    """Record visit outcomes from a file: columns driver (code), period (YYYY-MM), outcome
    (done, missed or cancelled), visited_on (YYYY-MM-DD, for a visit done) and note. Rows that
    name no planned visit are refused (exit 1); the others are kept."""
    _check_file(file)
    service = _visit_service(province)
    with _explained():
        result = service.record_outcomes(file)
    err.print(
        f"{file.name}: {result.rows} row(s), {result.recorded} outcome(s) recorded, "
        f"{len(result.refused)} refused",
        highlight=False,
        soft_wrap=True,
    )
    for row, reason in result.refused:
        err.print(f"refused: row {row}: {reason}", highlight=False, soft_wrap=True)
    if result.refused:
        raise fail(f"{len(result.refused)} row(s) refused; the others are kept")


@visits_app.command("stats")
@friendly
def visits_stats(
    province: Annotated[
        str | None,
        typer.Option(
            "--province", "-p", metavar="CODE", help="One province (default: every province)."
        ),
    ] = None,
    by: Annotated[
        str, typer.Option("--by", metavar="PERIOD", help="month (YYYY-MM) or year.")
    ] = "month",
    format: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="table (default) or csv.")
    ] = "table",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write CSV to a file, not stdout."),
    ] = None,
) -> None:
    """Visits planned, done, missed and cancelled, the visit rate (done of planned less
    cancelled) and the drivers visited (each once), by province and period, with a total per
    province (period "all")."""
    from chelun.outputs import SafeCsvWriter
    from chelun.recognition.visits import STAT_COLUMNS, visit_stats

    kind = format.strip().lower()
    if kind not in ("table", "csv"):
        raise fail(f"unknown format {format!r}: table or csv", 2)
    current = load_settings()
    provinces = [province_code(province, current)] if province else None
    with _explained():
        rows = visit_stats(open_db(current), provinces, by=by)
    if kind == "csv":

        def write(stream: object) -> int:
            writer = SafeCsvWriter(stream)  # type: ignore[arg-type]
            writer.writerow(STAT_COLUMNS)
            for row in rows:
                writer.writerow(row[column] for column in STAT_COLUMNS)
            return len(rows)

        write_export(output, write, "rows")
        return
    for row in rows:
        due = row["planned"] - row["cancelled"]
        rate = f", {row['done'] / due:.1%} ({row['done']}/{due}) of those due" if due else ""
        out.print(
            f"{row['province']} {row['period']}: {row['planned']} planned, {row['done']} done, "
            f"{row['missed']} missed, {row['cancelled']} cancelled{rate}; "
            f"{row['drivers_visited']} driver(s) visited ({row['members_visited']} members, "
            f"{row['hardship_visited']} in hardship)",
            highlight=False,
            soft_wrap=True,
        )
    if not rows:
        err.print("no care visit planned yet", highlight=False)
