"""Flows that exist for the schedules: the daily roster intake of a province's drop folder.

Thin orchestration: ``chelun.ops.drop`` says which files wait and files them away, and the roster
intake flow (``chelun.flows.intake.intake_flow``, run here as a subflow) does the intake itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from chelun.flows.intake import intake_flow
from chelun.ops.drop import dropped, file_away
from chelun.ops.settings import OpsSettings
from chelun.settings import Settings
from chelun.storage.events import now


@flow(name="roster-drop-intake", log_prints=False, persist_result=False)
def drop_intake_flow(
    province: str, folder: str | None = None, actor: str = "flow:roster-drop-intake"
) -> dict[str, Any]:
    """Ingest the roster files waiting in the province's drop folder (``folder``, default
    ``CHELUN_DROP_FOLDER/<province>``), then move them into its ``done/`` folder.

    No file, nothing to do: no intake runs. A failed intake leaves the files where they were.
    Logs the province and counts; the intake logs the sources' names and row counts.
    """
    where = Path(folder) if folder else OpsSettings().drop_folder_of(province, Settings().home)
    sources = dropped(where)
    logger = get_run_logger()
    if not sources:
        logger.info("province %s: no roster file waiting, nothing to do", province)
        return {"files": 0, "sources": []}
    logger.info("province %s: %d roster files waiting", province, len(sources))
    intake_flow(
        province,
        sources={source.name: str(source.path) for source in sources},
        mappings={source.name: str(source.mapping) for source in sources if source.mapping},
        actor=actor,
    )
    filed = file_away([source.path for source in sources], where, now())
    logger.info("province %s: %d files moved to %s", province, len(filed), where / "done")
    return {"files": len(sources), "sources": [source.name for source in sources]}
