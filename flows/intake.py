"""The roster intake flow: ``chelun.roster.pipeline.run_intake`` with each step a Prefect task.

Thin orchestration: the pipeline decides the steps and their order, and each task here IS one
of its step functions (stage, link, verify, enrol), so ``chelun intake`` and this flow cannot
drift apart. A task wraps a whole step (thousands of rows), never one record.

One intake (settings, database, plugin manager) is built per flow run and handed to every task:
tasks run in the flow's own process and thread (the default task runner, called directly), take
no cache key (``NO_CACHE``) and persist no result, so Prefect never hashes, copies or pickles it.

A task is retried only when its failure is transient (a network error or a database
``OperationalError``, see :func:`chelun.roster.pipeline.is_transient`): a file that cannot be
read, headers no profile fits or a plugin's refusal fail the run at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from chelun.flows import open_province
from chelun.roster import pipeline
from chelun.roster.pipeline import NoProgress, is_transient, run_intake
from chelun.roster.service import RosterIntake
from chelun.roster.staging import SourceInput, StageResult

T = TypeVar("T")


def failure_of(state: State[Any]) -> BaseException | None:
    """The exception a failed state holds, if it holds one."""
    if isinstance(state.data, BaseException):
        return state.data
    result = state.result(raise_on_failure=False)
    return result if isinstance(result, BaseException) else None


def retry_transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect's ``retry_condition_fn``: go on to the task's retries only for a transient error."""
    error = failure_of(state)
    return error is not None and is_transient(error)


class LoggedProgress(NoProgress):
    """Counts and source names to the run's log; nothing personal."""

    def staging_in_processes(self, files: int, processes: int) -> None:
        get_run_logger().info("reading %d files in %d processes", files, processes)

    def staged(self, results: Sequence[StageResult]) -> None:
        logger = get_run_logger()
        for result in results:
            note = "unchanged, skipped" if result.skipped else f"{result.rows} rows"
            logger.info("%s: %s profile, %s", result.source, result.profile, note)


_TASK_OPTIONS: dict[str, Any] = {
    "cache_policy": NO_CACHE,
    "persist_result": False,
    "retry_condition_fn": retry_transient,
}

stage_sources = task(
    pipeline.stage, name="stage-sources", retries=1, retry_delay_seconds=2, **_TASK_OPTIONS
)
link_province = task(
    pipeline.link, name="link-province", retries=1, retry_delay_seconds=2, **_TASK_OPTIONS
)
# Verification calls the province's providers: the likeliest step to meet a passing outage.
verify_province = task(
    pipeline.verify, name="verify-province", retries=2, retry_delay_seconds=5, **_TASK_OPTIONS
)
enrol_province = task(
    pipeline.enrol, name="enrol-province", retries=1, retry_delay_seconds=2, **_TASK_OPTIONS
)

#: The task that runs each of the pipeline's steps.
TASKS: dict[str, Task[..., Any]] = {
    "stage": stage_sources,
    "link": link_province,
    "verify": verify_province,
    "enrol": enrol_province,
}


def run_as_task(name: str, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """The pipeline's step runner in this flow: each step runs as its task."""
    step_task = TASKS[name]
    if step_task.fn is not step:
        raise RuntimeError(f"the task for step {name!r} does not run {step.__qualname__}")
    return step_task(*args, **kwargs)


def open_intake(province: str, actor: str) -> RosterIntake:
    """The run's one intake: settings, the (migrated) database and the province's plugins."""
    database, pm = open_province(province)
    return RosterIntake(database, pm, province, actor=actor)


@flow(name="roster-intake", log_prints=False, persist_result=False)
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
    mappings = mappings or {}
    inputs = [
        SourceInput(name, Path(path), Path(mappings[name]) if name in mappings else None)
        for name, path in sources.items()
    ]
    intake = open_intake(province, actor)
    try:
        outcome = run_intake(
            intake, inputs, force=force, progress=LoggedProgress(), run_step=run_as_task
        )
    finally:
        intake.database.dispose()
    summary = outcome.summary
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
        "staged": [
            {
                "source": result.source,
                "profile": result.profile,
                "rows": result.rows,
                "skipped": result.skipped,
                "encoding": result.encoding,
            }
            for result in outcome.staged
        ],
        "linked": outcome.linked.__dict__,
        "verified": {
            "confirmed_by_match": outcome.verified.confirmed_by_match,
            "phone": outcome.verified.phone_results,
            "visit": outcome.verified.visit_results,
        },
        "enrolled": outcome.enrolled.__dict__,
        "summary": summary,
    }
