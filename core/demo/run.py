"""``chelun demo``: a synthetic four-province pilot through the intake flow."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chelun.demo.claims import run_claims
from chelun.demo.recognition import run_recognition
from chelun.demo.roster import generate_province
from chelun.identity.divisions import PILOT_PROVINCES
from chelun.roster.service import RosterSummary
from chelun.settings import Settings

#: How the demo splits its drivers over the pilot provinces.
PROVINCE_WEIGHTS = {"32": 0.40, "51": 0.30, "52": 0.15, "62": 0.15}


def split_drivers(total: int) -> dict[str, int]:
    counts = {code: int(total * weight) for code, weight in PROVINCE_WEIGHTS.items()}
    counts["32"] += total - sum(counts.values())
    return counts


def run_demo(
    settings: Settings, *, drivers: int, seed: int, console: Console
) -> list[RosterSummary]:
    """Generate each province's files under CHELUN_HOME/demo and run the intake flow on them,
    showing the provinces done and, for each, the rows staged and the drivers linked."""
    from chelun.flows.intake import intake_flow

    summaries = []
    plan = split_drivers(drivers)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("provinces"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        overall = progress.add_task("synthetic pilot", total=len(plan))
        for offset, (code, count) in enumerate(plan.items()):
            name = PILOT_PROVINCES[code]
            folder = settings.home / "demo" / f"{code}-{name}"
            progress.update(overall, description=f"{name}: generating {count:,} drivers")
            sources = generate_province(folder, code, count, seed=seed + offset)
            step = "intake flow" if offset else "intake flow, starting Prefect's local engine"
            progress.update(overall, description=f"{name}: {step}")
            started = time.perf_counter()
            result = intake_flow(
                province=code,
                sources={source.name: str(source.path) for source in sources},
                actor="flow:demo",
            )
            summary: RosterSummary = result["summary"]
            rows = sum(stage["rows"] for stage in result["staged"])
            quarantined = sum(account.quarantined for account in summary.accounts)
            progress.console.print(
                f"{code} {name}: {rows:,} rows staged, {summary.drivers:,} drivers linked, "
                f"{quarantined:,} rows quarantined ({time.perf_counter() - started:.1f} s)",
                highlight=False,
            )
            summaries.append(summary)
            progress.update(overall, description=f"{name}: grievances")
            handled = run_grievances(settings, code, count, seed=seed + offset, folder=folder)
            progress.console.print(f"{code} {name}: {handled}", highlight=False)
            progress.update(overall, description=f"{name}: recognition")
            recognised = run_recognition(settings, code, seed=seed + offset, folder=folder)
            progress.console.print(f"{code} {name}: {recognised}", highlight=False)
            progress.update(overall, description=f"{name}: claims")
            claimed = run_claims(code, count, seed=seed + offset, folder=folder)
            if claimed:
                progress.console.print(f"{code} {name}: {claimed}", highlight=False)
            progress.advance(overall)
        progress.update(overall, description="synthetic pilot")
    return summaries


#: Demo grievances per driver: the pilot collected 7,500+ from 1.93 million drivers.
GRIEVANCES_PER_DRIVER = 1 / 250


def run_grievances(settings: Settings, province: str, drivers: int, *, seed: int, folder) -> str:
    """Generate the province's grievances, run the grievance flow on them, play the joint
    conferences' part (most older cases handled, a few drivers not satisfied), then the overdue
    sweep; returns a line of what happened."""
    import datetime as dt
    import random

    from sqlalchemy import select

    from chelun.demo.grievance import generate_grievances
    from chelun.flows import open_province
    from chelun.flows.grievance import grievance_intake_flow, grievance_sweep_flow
    from chelun.grievance.service import GrievanceService
    from chelun.storage.tables import Driver, Grievance

    database, pm = open_province(province)
    try:
        with database.engine.connect() as connection:
            phones = list(
                connection.execute(
                    select(Driver.phone)
                    .where(Driver.province == province, Driver.phone.is_not(None))
                    .order_by(Driver.id)
                    .limit(2_000)
                ).scalars()
            )
        today = dt.datetime.now(dt.UTC).date()
        count = max(10, round(drivers * GRIEVANCES_PER_DRIVER))
        path = generate_grievances(folder, province, count, seed=seed, phones=phones, today=today)
        grievance_intake_flow(province=province, files=[str(path)], actor="flow:demo")
        service = GrievanceService(database, pm, province, actor="user:demo")
        rng = random.Random(seed)
        with database.engine.connect() as connection:
            routed = connection.execute(
                select(Grievance.ref, Grievance.received_at)
                .where(Grievance.province == province, Grievance.status == "routed")
                .order_by(Grievance.ref)
            ).all()
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=12)
        handled = 0
        for ref, received in routed:
            if received is None or received > cutoff or rng.random() > 0.9:
                continue  # recent, or left waiting: the sweep finds those overdue
            service.acknowledge(ref)
            service.resolve(ref)
            service.close(ref, satisfied=rng.random() < 0.92)
            handled += 1
    finally:
        database.dispose()
    swept = grievance_sweep_flow(province=province, actor="flow:demo")
    return (
        f"{count} grievances routed, {handled} handled by the conferences, "
        f"{swept['escalated']} overdue escalated"
    )


def print_grievance_figures(settings: Settings, provinces: list[str], console: Console) -> None:
    """The demo's grievances per province: the three rates of the 12345 hotlines, each with its
    denominator, beside the pilot's 94% closure."""
    import datetime as dt

    from rich.table import Table

    from chelun.grievance.stats import grievance_stats, rate
    from chelun.storage.db import open_database

    table = Table(title="Synthetic pilot: grievances")
    for column in ("province", "collected", "closure", "timely", "satisfied", "escalated"):
        table.add_column(column, justify="left" if column == "province" else "right")
    database = open_database(settings)
    try:
        at = dt.datetime.now(dt.UTC)
        for code in provinces:
            figures, _ = grievance_stats(database, code, at)
            table.add_row(
                f"{code} {PILOT_PROVINCES[code]}",
                f"{figures.collected:,}",
                rate(figures.resolved, figures.accepted),
                rate(figures.timely, figures.routed),
                rate(figures.satisfied, figures.answers),
                f"{figures.escalated:,}",
            )
    finally:
        database.dispose()
    table.caption = (
        "closure (办结率): resolved or closed / collected less rejected and merged (the pilot "
        "closed 94%); timely (及时处办率): routed, never escalated, not overdue / routed; "
        "satisfied (满意率): satisfied / drivers' answers. chelun grievance stats -p CODE "
        "shows them by category"
    )
    console.print(table)


def print_where_to_look(settings: Settings, console: Console) -> None:
    """After the demo's figures: where its files and database are, and what to run next."""
    database = settings.resolved_database_url
    console.print(
        f"\nFiles: {settings.home / 'demo'} (one folder per province; truth.csv says who is "
        f"who)\nDatabase: {database}\n\nLook further, for example:\n"
        "  chelun roster summary --province 62          figures and every source's rows\n"
        "  chelun roster export --province 62           the roster, personal data masked\n"
        "  chelun roster export --province 62 --reveal  unmasked, when the work needs it\n"
        "  chelun roster quarantine --province 62       rows a clerk must fix, and why\n"
        "  chelun grievance list --province 62          grievances and their deadlines\n"
        "  chelun grievance matters --province 62       grievances grouped in matters\n"
        "  chelun claims list --province 62             claims and where they stand\n"
        "  chelun claims stats --province 62            claims paid, refused by reason\n"
        "  chelun awards list --province 62             award campaigns\n"
        "  chelun visits stats --province 62            drivers visited, by period\n"
        "  chelun plugins list                          the plugins of each province",
        highlight=False,
    )
