"""The intake pipeline: stage, link, verify, enrol. Its steps and their order live here only.

``chelun intake`` runs :func:`run_intake` directly (no Prefect: the command starts quickly); the
Prefect flow runs the same function with a step runner that makes each step a task. What a run
shows as it goes is an :class:`IntakeProgress`: the command line draws progress bars, the flow
logs counts, the default (:class:`NoProgress`) shows nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from chelun.roster.enrolment import EnrolmentResult
from chelun.roster.linkage import LinkResult
from chelun.roster.service import RosterIntake, RosterSummary
from chelun.roster.staging import SourceInput, StageResult
from chelun.roster.verification import VerificationResult
from chelun.sources.profiles import ProfileError
from chelun.sources.readers import SourceReadError

T = TypeVar("T")


class IntakeProgress(Protocol):
    """What an intake reports as it goes: counts and source names only, never personal data."""

    def staging_file(self, source: SourceInput) -> Callable[[int], None] | None:
        """One file is about to be staged in this process; return a callback that receives the
        number of rows read since its last call, or None."""
        ...

    def staging_in_processes(self, files: int, processes: int) -> None:
        """``files`` files are about to be staged in ``processes`` worker processes."""
        ...

    def staged(self, results: Sequence[StageResult]) -> None:
        """Every file is staged (or skipped as unchanged)."""
        ...

    def step(self, name: str) -> None:
        """A later step (``link``, ``verify``, ``enrol``) is starting."""
        ...


class NoProgress:
    """An :class:`IntakeProgress` that shows nothing; subclass it to report only some events."""

    def staging_file(self, source: SourceInput) -> Callable[[int], None] | None:
        return None

    def staging_in_processes(self, files: int, processes: int) -> None:
        return None

    def staged(self, results: Sequence[StageResult]) -> None:
        return None

    def step(self, name: str) -> None:
        return None


class StepRunner(Protocol):
    """Runs one step of the pipeline: ``runner(name, step, *args, **kwargs)`` calls
    ``step(*args, **kwargs)``, here or as a task of some orchestrator, and returns its result."""

    def __call__(self, name: str, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def run_here(name: str, step: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """The default step runner: call the step in this process, now."""
    return step(*args, **kwargs)


@dataclass(frozen=True)
class IntakeOutcome:
    """What each step did, and the province's roster in figures afterwards."""

    staged: list[StageResult]
    linked: LinkResult
    verified: VerificationResult
    enrolled: EnrolmentResult
    summary: RosterSummary


def stage(
    intake: RosterIntake,
    sources: Sequence[SourceInput],
    *,
    force: bool = False,
    progress: IntakeProgress | None = None,
) -> list[StageResult]:
    """Read, normalise and store each file (skipped when unchanged, unless ``force``).

    Big inputs are staged in ``CHELUN_WORKERS`` processes side by side (one report for all);
    small ones here, file after file, each reporting its rows as they are read.
    """
    progress = progress or NoProgress()
    if intake.stages_in_processes(sources):
        workers = intake.settings.workers
        progress.staging_in_processes(len(sources), workers)
        results = intake.stage_all(sources, force=force, workers=workers)
    else:
        results = [
            intake.stage(source, force=force, progress=progress.staging_file(source))
            for source in sources
        ]
    progress.staged(results)
    return results


def link(intake: RosterIntake, *, progress: IntakeProgress | None = None) -> LinkResult:
    """Attribute every staged row to a driver or to quarantine, and rebuild the roster."""
    (progress or NoProgress()).step("link")
    return intake.link()


def verify(intake: RosterIntake, *, progress: IntakeProgress | None = None) -> VerificationResult:
    """Move drivers through the verification funnel (the province's providers are called)."""
    (progress or NoProgress()).step("verify")
    return intake.verify()


def enrol(intake: RosterIntake, *, progress: IntakeProgress | None = None) -> EnrolmentResult:
    """Enrol member drivers into branches and pair ordinary drivers with members."""
    (progress or NoProgress()).step("enrol")
    return intake.enrol()


#: Each step's function by name, in the order :func:`run_intake` runs them.
STEP_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "stage": stage,
    "link": link,
    "verify": verify,
    "enrol": enrol,
}


def run_intake(
    intake: RosterIntake,
    sources: Sequence[SourceInput],
    *,
    force: bool = False,
    progress: IntakeProgress | None = None,
    run_step: StepRunner = run_here,
) -> IntakeOutcome:
    """THE intake: stage ``sources``, link, verify, enrol; then the province's figures.

    ``run_step`` runs each step (default: here and now; the Prefect flow passes one that runs
    each step as a task). The province's intake lock is held from the first step to the last;
    ``LockBusy`` when another run holds it.
    """
    progress = progress or NoProgress()
    # One lock across the steps: no other intake of the province runs between two of them.
    with intake.locked():
        staged = run_step("stage", stage, intake, list(sources), force=force, progress=progress)
        linked = run_step("link", link, intake, progress=progress)
        verified = run_step("verify", verify, intake, progress=progress)
        enrolled = run_step("enrol", enrol, intake, progress=progress)
    return IntakeOutcome(staged, linked, verified, enrolled, intake.summary())


def is_transient(error: BaseException) -> bool:
    """True when ``error`` may go away if the step is run again: a network error (httpx's
    transport errors and timeouts, ``ConnectionError``, ``TimeoutError``) or a database
    ``OperationalError`` (lost connection, locked database), raised directly or behind
    another error in its chain of causes (a plugin's ``PluginError`` caused by its provider's
    timeout, say).

    Deterministic refusals are not: a file that cannot be read (``SourceReadError``), headers
    no profile fits (``ProfileError``), a plugin that refuses or answers wrongly
    (``PluginError`` with no network error behind it). Running them again gives the same error.
    """
    import httpx
    from sqlalchemy.exc import OperationalError

    if isinstance(error, SourceReadError | ProfileError):
        return False
    transient = (httpx.TransportError, OperationalError, ConnectionError, TimeoutError)
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, transient):
            return True
        if current.__cause__ is not None:
            pending.append(current.__cause__)
        if current.__context__ is not None and not current.__suppress_context__:
            pending.append(current.__context__)
    return False
