"""``chelun demo``: a synthetic four-province pilot through the intake flow."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
            progress.advance(overall)
        progress.update(overall, description="synthetic pilot")
    return summaries


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
        "  chelun plugins list                          the plugins of each province",
        highlight=False,
    )
