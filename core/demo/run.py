"""``chelun demo``: a synthetic four-province pilot through the intake flow."""

from __future__ import annotations

from rich.console import Console

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
    """Generate each province's files under CHELUN_HOME/demo and run the intake flow on them."""
    from chelun.flows.intake import intake_flow

    summaries = []
    for offset, (code, count) in enumerate(split_drivers(drivers).items()):
        folder = settings.home / "demo" / f"{code}-{PILOT_PROVINCES[code]}"
        with console.status(f"generating {count:,} drivers for {PILOT_PROVINCES[code]}"):
            sources = generate_province(folder, code, count, seed=seed + offset)
        with console.status(f"running the intake flow for {PILOT_PROVINCES[code]}"):
            result = intake_flow(
                province=code,
                sources={source.name: str(source.path) for source in sources},
                actor="flow:demo",
            )
        summaries.append(result["summary"])
    return summaries
