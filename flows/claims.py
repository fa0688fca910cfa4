"""Claims flows: the batch (import, then check, assess and submit to the insurer) and the status
sync. Thin orchestration over ``chelun.claims``, the same code ``chelun claims import``,
``process`` and ``sync`` run.

A task wraps a whole step, never one claim. Tasks take no cache key and persist no result. Only
transient failures (a network error, a database ``OperationalError``) are retried, and retrying
is safe: each claim keeps its idempotency key and exact body from the first attempt, so the
insurer creates it once however often the task runs. Artifacts hold counts only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from chelun.claims.service import ClaimsService
from chelun.flows import open_province
from chelun.flows.intake import retry_transient

_RETRIED: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "persist_result": False,
    "retries": 2,
    "retry_delay_seconds": 5,
    "retry_condition_fn": retry_transient,
}


def open_service(province: str, actor: str) -> ClaimsService:
    database, pm = open_province(province)
    return ClaimsService(database, pm, province, actor=actor)


@task(name="import-claims", cache_policy=NO_CACHE, persist_result=False)
def import_claims(service: ClaimsService, path: Path) -> dict[str, int]:
    return vars(service.import_file(path))


@task(name="process-claims", **_RETRIED)
def process_claims(service: ClaimsService) -> dict[str, int]:
    from chelun.claims.processing import process

    return vars(process(service))


@task(name="sync-claims", **_RETRIED)
def sync_claims(service: ClaimsService) -> dict[str, int]:
    from chelun.claims.insurer import sync

    return vars(sync(service))


@flow(name="claims-batch", log_prints=False, persist_result=False)
def claims_batch_flow(
    province: str, files: list[str] | None = None, actor: str = "flow:claims-batch"
) -> dict[str, Any]:
    """Import claim files of a province, then check, assess and submit every claim ready."""
    service = open_service(province, actor)
    try:
        imported = {path: import_claims(service, Path(path)) for path in files or []}
        processed = process_claims(service)
    finally:
        service.database.dispose()
    create_table_artifact(
        key=f"claims-batch-{province}",
        table=[processed],
        description=f"Claims batch of province {province}: {len(imported)} files imported.",
    )
    return {"files": imported, "processed": processed}


@flow(name="claims-sync", log_prints=False, persist_result=False)
def claims_sync_flow(province: str, actor: str = "flow:claims-sync") -> dict[str, int]:
    """Ask the insurer where each submitted claim stands: approved, rejected, paid."""
    service = open_service(province, actor)
    try:
        synced = sync_claims(service)
    finally:
        service.database.dispose()
    create_table_artifact(
        key=f"claims-sync-{province}",
        table=[synced],
        description=f"Claims status sync of province {province}.",
    )
    return synced
