"""The roster intake flow: stage each source as a task, link the province, publish the account.

Thin orchestration over ``chelun.roster.service``: a task wraps a whole file or the whole
linkage (a batch of thousands of rows), never one record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from chelun.plugin_manager import PluginHost
from chelun.roster.service import RosterIntake, roster_summary
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import open_database


def _intake(province: str, actor: str) -> RosterIntake:
    settings = Settings()
    database = open_database(settings)
    return RosterIntake(database, PluginHost(settings).manager(province), province, actor=actor)


@task(name="stage-sources", cache_policy=NO_CACHE, retries=1, retry_delay_seconds=2)
def stage_sources(
    province: str,
    sources: dict[str, str],
    mappings: dict[str, str],
    force: bool,
    actor: str,
) -> list[dict[str, Any]]:
    """Read, normalise and store a province's files (each skipped when unchanged).

    Big inputs are staged in ``CHELUN_WORKERS`` processes side by side.
    """
    intake = _intake(province, actor)
    inputs = [
        SourceInput(name, Path(path), Path(mappings[name]) if name in mappings else None)
        for name, path in sources.items()
    ]
    results = intake.stage_all(
        inputs,
        force=force,
    )
    intake.database.dispose()
    return [
        {
            "source": result.source,
            "profile": result.profile,
            "rows": result.rows,
            "skipped": result.skipped,
            "encoding": result.encoding,
        }
        for result in results
    ]


@task(name="link-province", cache_policy=NO_CACHE)
def link_province(province: str, actor: str) -> dict[str, Any]:
    """Attribute every staged row to a driver or to quarantine, and rebuild the roster."""
    intake = _intake(province, actor)
    result = intake.link()
    intake.database.dispose()
    return result.__dict__


@task(name="verify-province", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def verify_province(province: str, actor: str) -> dict[str, Any]:
    """Move drivers through the verification funnel (providers are called here: retried)."""
    intake = _intake(province, actor)
    result = intake.verify()
    intake.database.dispose()
    return {
        "confirmed_by_match": result.confirmed_by_match,
        "phone": result.phone_results,
        "visit": result.visit_results,
    }


@task(name="enrol-province", cache_policy=NO_CACHE)
def enrol_province(province: str, actor: str) -> dict[str, Any]:
    """Enrol member drivers into branches and pair ordinary drivers with members."""
    intake = _intake(province, actor)
    result = intake.enrol()
    intake.database.dispose()
    return result.__dict__


@flow(name="roster-intake", log_prints=False)
def intake_flow(
    province: str,
    sources: dict[str, str],
    mappings: dict[str, str] | None = None,
    force: bool = False,
    actor: str = "flow:roster-intake",
) -> dict[str, Any]:
    """Ingest a province's source files (NAME -> path): stage, link, verify, enrol and pair.

    Publishes a table artifact per run: rows in, on the roster and quarantined, per source.
    The artifact holds counts only, never personal data.
    """
    staged = stage_sources(province, sources, mappings or {}, force, actor)
    linked = link_province(province, actor)
    verified = verify_province(province, actor)
    enrolled = enrol_province(province, actor)
    settings = Settings()
    database = open_database(settings)
    summary = roster_summary(database, province)
    database.dispose()
    create_table_artifact(
        key=f"roster-intake-{province}",
        table=[
            {
                "source": account.source,
                "profile": account.profile,
                "rows_in": account.rows_in,
                "on_roster": account.on_roster,
                "quarantined": account.quarantined,
                "balanced": account.balanced,
            }
            for account in summary.accounts
        ],
        description=f"Roster intake for province {province}: every row accounted for.",
    )
    return {
        "staged": staged,
        "linked": linked,
        "verified": verified,
        "enrolled": enrolled,
        "summary": summary,
    }
