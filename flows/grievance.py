"""Grievance flows: intake-and-route, and the overdue sweep. Thin orchestration over
``chelun.grievance.service``, the same code ``chelun grievance import`` and ``sweep`` run.

A task wraps a whole step (a file, every pending grievance, a province's sweep), never one
grievance. Tasks take no cache key and persist no result. Only transient failures (a network
error, a database ``OperationalError``) are retried; the sweep is safe to retry and to run while
another sweep runs (escalations are conditional updates). Artifacts hold counts only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from chelun.flows import open_province
from chelun.flows.intake import retry_transient
from chelun.grievance.notify import NotifyResult, enqueue, send_pending
from chelun.grievance.platform import PullResult, pull
from chelun.grievance.service import GrievanceService, ImportResult, SweepResult
from chelun.grievance.stats import figure_rows, grouped_stats, stats_artifact
from chelun.storage.events import now


def open_service(province: str, actor: str) -> GrievanceService:
    database, pm = open_province(province)
    return GrievanceService(database, pm, province, actor=actor)


@task(name="import-grievances", cache_policy=NO_CACHE, persist_result=False)
def import_grievances(service: GrievanceService, path: Path) -> ImportResult:
    return service.import_file(path)


@task(
    name="route-grievances",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
)
def route_grievances(service: GrievanceService) -> int:
    return service.route_pending()


@task(
    name="sweep-grievances",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=retry_transient,
)
def sweep_grievances(service: GrievanceService, at: dt.datetime | None) -> SweepResult:
    return service.sweep(at)


@task(
    name="pull-grievances",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient,
)
def pull_grievances(service: GrievanceService) -> PullResult:
    """Fetch the platform's new grievances; a retry resumes at the page that failed."""
    return pull(service)


@task(
    name="notify-grievances",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=retry_transient,
)
def notify_grievances(service: GrievanceService) -> NotifyResult:
    """Queue and send the notices the province's events owe; never one twice."""
    enqueue(service.database, service.province)
    return send_pending(service.database, service.pm, service.province)


@flow(name="grievance-intake", log_prints=False, persist_result=False)
def grievance_intake_flow(
    province: str,
    files: list[str] | None = None,
    pull_platform: bool = False,
    notify: bool = False,
    actor: str = "flow:grievance-intake",
) -> dict[str, Any]:
    """Import grievance files of a province and, with ``pull_platform``, its platform's new
    grievances; classify and route the new grievances; with ``notify``, send the replies owed."""
    service = open_service(province, actor)
    pulled = notices = None
    try:
        results = {path: import_grievances(service, Path(path)) for path in files or []}
        if pull_platform:
            pulled = pull_grievances(service)
        routed = route_grievances(service)
        if notify:
            notices = notify_grievances(service)
    finally:
        service.database.dispose()
    create_table_artifact(
        key=f"grievance-intake-{province}",
        table=[
            {
                "file": Path(path).name,
                "rows": result.rows,
                "added": result.added,
                "quarantined": result.quarantined,
                "already": result.already,
            }
            for path, result in results.items()
        ],
        description=f"Grievance intake for province {province}: {routed} grievances routed.",
    )
    return {
        "files": {path: vars(result) for path, result in results.items()},
        "pulled": vars(pulled) if pulled else None,
        "routed": routed,
        "notices": vars(notices) if notices else None,
    }


@flow(name="grievance-sweep", log_prints=False, persist_result=False)
def grievance_sweep_flow(
    province: str,
    at: str | None = None,
    notify: bool = False,
    actor: str = "flow:grievance-sweep",
) -> dict[str, int]:
    """Escalate a province's overdue grievances (as of ``at``, ISO, default now); run hourly.
    With ``notify``, tell the conferences that take them, and the drivers."""
    service = open_service(province, actor)
    try:
        result = sweep_grievances(service, dt.datetime.fromisoformat(at) if at else None)
        if notify:
            notify_grievances(service)
    finally:
        service.database.dispose()
    create_table_artifact(
        key=f"grievance-sweep-{province}",
        table=[vars(result)],
        description=f"Overdue sweep of province {province}.",
    )
    return vars(result)


@flow(name="grievance-stats", log_prints=False, persist_result=False)
def grievance_stats_flow(
    province: str, by: str = "category", at: str | None = None
) -> list[dict[str, Any]]:
    """Publish a province's grievance figures by a grouping (category, province, city, county,
    period, week) as the table artifact ``grievance-stats-<province>-<by>``."""
    database, _ = open_province(province)
    try:
        as_of = dt.datetime.fromisoformat(at) if at else now()
        rows = figure_rows(*grouped_stats(database, province, as_of, by))
    finally:
        database.dispose()
    stats_artifact(province, rows, by)
    return rows
