"""The roster intake service: stage a province's sources, link them, account for every row.

Plain Python over the storage layer, with no Prefect in it: flows call these steps as tasks, the
tests call them directly.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, cached_property

import pluggy
from sqlalchemy import ColumnElement, and_, case, func, select

from chelun.plugin_manager import call_all
from chelun.roster.enrolment import Enrolment, EnrolmentResult
from chelun.roster.linkage import Linker, LinkResult
from chelun.roster.models import SourceProfile
from chelun.roster.settings import RosterSettings
from chelun.roster.staging import SourceInput, Stager, StageResult
from chelun.roster.verification import Verification, VerificationResult
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, record
from chelun.storage.locks import run_lock
from chelun.storage.tables import Branch, Driver, SourceFile, SourceRecord

#: Below this many bytes of input, staging stays in one process.
PARALLEL_MIN_BYTES = 32 << 20


@cache
def _staging_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, started once and reused by every later intake in this process.

    Spawned, not forked: the parent may hold database connections and Prefect's threads.
    """
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    atexit.register(pool.shutdown, cancel_futures=True)
    return pool


def _die_with_parent(parent: int) -> None:
    """Worker start-up: exit as soon as the parent is gone (killed, say), so that no orphan
    keeps writing a source that a restarted intake is staging again."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, name="chelun-parent-watch", daemon=True).start()


def _stage_in_worker(
    url: str,
    province: str,
    profiles: list[SourceProfile],
    source: SourceInput,
    force: bool,
    batch_rows: int,
) -> StageResult:
    database = Database(url)
    try:
        return Stager(database, province, profiles, batch_rows=batch_rows).stage(
            source, force=force
        )
    finally:
        database.dispose()


@dataclass(frozen=True)
class SourceAccount:
    """Rows in, rows on the roster and rows quarantined (by reason) for one source."""

    source: str
    profile: str
    rows_in: int
    on_roster: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return self.rows_in == self.on_roster + self.quarantined


@dataclass(frozen=True)
class RosterSummary:
    """A province's roster in figures, computed from stored data."""

    province: str
    drivers: int
    members: int
    with_valid_id: int
    merged_from_several_sources: int
    conflicting_phones: int
    conflicting_enterprises: int
    accounts: list[SourceAccount]
    verification: dict[str, int] = field(default_factory=dict)
    branches: dict[str, int] = field(default_factory=dict)
    enrolled: dict[str, int] = field(default_factory=dict)
    paired: int = 0

    @property
    def member_share(self) -> float:
        return self.members / self.drivers if self.drivers else 0.0


def source_profiles(pm: pluggy.PluginManager) -> list[SourceProfile]:
    """Profiles contributed by the province's plugins, plugins' first.

    Core's defaults run last, so a plugin's profile named like a built-in one replaces it.
    """
    profiles: dict[str, SourceProfile] = {}

    def register(profile: SourceProfile) -> None:
        profiles.setdefault(profile.name, profile)

    call_all(pm, "chelun_source_profiles", register=register)
    return list(profiles.values())


class RosterIntake:
    """Intake for one province: its database, its plugin manager and who is acting."""

    def __init__(
        self,
        database: Database,
        pm: pluggy.PluginManager,
        province: str,
        *,
        actor: str = "user",
        settings: RosterSettings | None = None,
    ) -> None:
        self.database = database
        self.pm = pm
        self.province = province
        self.actor = actor
        self.settings = settings or RosterSettings()
        self._holding_lock = False

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this province's intake lock for the block (``chelun.storage.locks``): a second
        intake, verification or enrolment of the province is refused while it runs. Every step
        below takes it for itself when no caller holds it; a caller running several steps
        holds it across them. Raises ``LockBusy`` naming the run that holds it."""
        if self._holding_lock:
            yield
            return
        with run_lock(self.database, f"roster intake of province {self.province}", self.actor):
            self._holding_lock = True
            try:
                yield
            finally:
                self._holding_lock = False

    @cached_property
    def profiles(self) -> list[SourceProfile]:
        """The source profiles of this province's plugins: asked once per intake."""
        return source_profiles(self.pm)

    def stage(
        self,
        source: SourceInput,
        *,
        force: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> StageResult:
        """Stage one file in this process."""
        with self.locked():
            result = Stager(
                self.database,
                self.province,
                self.profiles,
                progress=progress,
                batch_rows=self.settings.batch_rows,
            ).stage(source, force=force)
            self._record_staged(result)
        return result

    def stage_all(
        self, sources: Sequence[SourceInput], *, force: bool = False, workers: int | None = None
    ) -> list[StageResult]:
        """Stage several files, in up to ``workers`` processes when they are big enough.

        Normalising is CPU work in Python and writing is CPU work in the database; two
        processes overlap the one with the other. Small inputs stay in this process: a worker
        process costs about a second to start.
        """
        with self.locked():
            return self._stage_all(sources, force=force, workers=workers)

    def stages_in_processes(
        self, sources: Sequence[SourceInput], workers: int | None = None
    ) -> bool:
        """True when ``stage_all`` stages ``sources`` in worker processes: several files, more
        than one worker (default ``CHELUN_WORKERS``), at least ``PARALLEL_MIN_BYTES`` in all."""
        workers = self.settings.workers if workers is None else workers
        volume = sum(source.path.stat().st_size for source in sources if source.path.is_file())
        return workers > 1 and len(sources) > 1 and volume >= PARALLEL_MIN_BYTES

    def _stage_all(
        self, sources: Sequence[SourceInput], *, force: bool, workers: int | None
    ) -> list[StageResult]:
        workers = self.settings.workers if workers is None else workers
        if not self.stages_in_processes(sources, workers):
            return [self.stage(source, force=force) for source in sources]
        # Biggest first, so that the last file to finish is a small one.
        order = sorted(range(len(sources)), key=lambda i: -sources[i].path.stat().st_size)
        pool = _staging_pool(workers)
        futures = {
            i: pool.submit(
                _stage_in_worker,
                self.database.url,
                self.province,
                self.profiles,
                sources[i],
                force,
                self.settings.batch_rows,
            )
            for i in order
        }
        results = [futures[i].result() for i in range(len(sources))]
        for result in results:
            self._record_staged(result)
        return results

    def _record_staged(self, result: StageResult) -> None:
        if result.skipped:
            return
        with self.database.connect() as connection:
            record(
                connection,
                [
                    NewEvent(
                        province=self.province,
                        actor=self.actor,
                        entity="source",
                        entity_key=f"{self.province}:{result.source}",
                        kind="source.staged",
                        reason=f"{result.rows} rows read as profile {result.profile}",
                        data={
                            "format": result.format,
                            "encoding": result.encoding,
                            "rows": result.rows,
                        },
                    )
                ],
            )

    def link(self) -> LinkResult:
        """Attribute every staged row to a driver or to quarantine; rebuild the roster."""
        with self.locked():
            return Linker(self.database, self.province, self.actor).run()

    def verify(self) -> VerificationResult:
        """Move drivers through the verification funnel as far as the evidence goes."""
        with self.locked():
            return Verification(self.database, self.pm, self.province, actor=self.actor).run()

    def enrol(self, *, cap: int | None = None) -> EnrolmentResult:
        """Enrol member drivers into branches and pair ordinary drivers with members, at most
        ``cap`` each (default: the ``CHELUN_PAIRING_CAP`` setting)."""
        cap = self.settings.pairing_cap if cap is None else cap
        with self.locked():
            return Enrolment(self.database, self.pm, self.province, cap=cap).run()

    def run(
        self, sources: Sequence[SourceInput], *, force: bool = False, workers: int | None = None
    ) -> tuple[list[StageResult], LinkResult]:
        """Stage and link: the roster, without verification or enrolment."""
        with self.locked():
            staged = self.stage_all(sources, force=force, workers=workers)
            return staged, self.link()

    def accounts(self) -> list[SourceAccount]:
        return source_accounts(self.database, self.province)

    def summary(self) -> RosterSummary:
        return roster_summary(self.database, self.province)


def _count_when(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def source_accounts(database: Database, province: str) -> list[SourceAccount]:
    """Per source: rows read, rows on the roster, rows quarantined by reason."""
    f, s = SourceFile, SourceRecord
    reason = func.substr(s.link, 3)
    with database.connect() as connection:
        totals = connection.execute(
            select(
                f.name,
                f.profile,
                f.rows,
                _count_when(s.driver_key.is_not(None)),
                _count_when(s.quarantine.is_not(None)),
            )
            .select_from(f)
            .outerjoin(s, and_(s.province == f.province, s.source == f.name))
            .where(f.province == province)
            .group_by(f.name, f.profile, f.rows)
            .order_by(f.name)
        ).all()
        reasons = connection.execute(
            select(s.source, reason, func.count())
            .where(s.province == province, s.quarantine.is_not(None))
            .group_by(s.source, reason)
        ).all()
    by_source: dict[str, dict[str, int]] = {}
    for source, code, count in reasons:
        by_source.setdefault(source, {})[code] = count
    return [
        SourceAccount(
            name, profile, rows, int(on or 0), int(quarantined or 0), by_source.get(name, {})
        )
        for name, profile, rows, on, quarantined in totals
    ]


def roster_summary(database: Database, province: str) -> RosterSummary:
    d = Driver
    active = and_(d.province == province, d.status == "active")
    with database.connect() as connection:
        row = connection.execute(
            select(
                func.count(),
                _count_when(d.member),
                _count_when(d.id_number.is_not(None)),
                _count_when(d.sources > 1),
                _count_when(d.phones > 1),
                _count_when(d.enterprises > 1),
                _count_when(d.contact.is_not(None)),
            ).where(active)
        ).one()
        funnel = connection.execute(
            select(d.verification_stage, d.verification_outcome, func.count())
            .where(active)
            .group_by(d.verification_stage, d.verification_outcome)
        ).all()
        branches = connection.execute(
            select(Branch.kind, func.count())
            .where(Branch.province == province)
            .group_by(Branch.kind)
        ).all()
        enrolled = connection.execute(
            select(Branch.kind, func.count())
            .select_from(d)
            .join(Branch, and_(Branch.province == d.province, Branch.code == d.branch))
            .where(active)
            .group_by(Branch.kind)
        ).all()
    drivers, members, valid, merged, phones, enterprises, paired = (int(v or 0) for v in row)
    return RosterSummary(
        province,
        drivers,
        members,
        valid,
        merged,
        phones,
        enterprises,
        source_accounts(database, province),
        verification={f"{stage}:{outcome}": n for stage, outcome, n in funnel},
        branches=dict(branches),
        enrolled=dict(enrolled),
        paired=paired,
    )
