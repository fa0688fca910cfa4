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
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache, cached_property

import pluggy
from sqlalchemy import text

from chelun.plugin_manager import call_all
from chelun.roster.enrolment import Enrolment, EnrolmentResult
from chelun.roster.linkage import Linker, LinkResult
from chelun.roster.models import SourceProfile
from chelun.roster.settings import RosterSettings
from chelun.roster.staging import SourceInput, Stager, StageResult
from chelun.roster.verification import Verification, VerificationResult
from chelun.storage.db import Database
from chelun.storage.tables import Event

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
        workers = self.settings.workers if workers is None else workers
        volume = sum(source.path.stat().st_size for source in sources if source.path.is_file())
        if workers <= 1 or len(sources) <= 1 or volume < PARALLEL_MIN_BYTES:
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
        with self.database.session() as session:
            session.add(
                Event(
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
            )

    def link(self) -> LinkResult:
        return Linker(self.database, self.province, self.actor).run()

    def verify(self) -> VerificationResult:
        """Move drivers through the verification funnel as far as the evidence goes."""
        return Verification(self.database, self.pm, self.province, actor=self.actor).run()

    def enrol(self, *, cap: int | None = None) -> EnrolmentResult:
        """Enrol member drivers into branches and pair ordinary drivers with members, at most
        ``cap`` each (default: the ``CHELUN_PAIRING_CAP`` setting)."""
        cap = self.settings.pairing_cap if cap is None else cap
        return Enrolment(self.database, self.pm, self.province, cap=cap).run()

    def run(
        self, sources: Sequence[SourceInput], *, force: bool = False, workers: int | None = None
    ) -> tuple[list[StageResult], LinkResult]:
        """Stage and link: the roster, without verification or enrolment."""
        staged = self.stage_all(sources, force=force, workers=workers)
        return staged, self.link()

    def accounts(self) -> list[SourceAccount]:
        return source_accounts(self.database, self.province)

    def summary(self) -> RosterSummary:
        return roster_summary(self.database, self.province)


def source_accounts(database: Database, province: str) -> list[SourceAccount]:
    """Per source: rows read, rows on the roster, rows quarantined by reason."""
    with database.connect() as connection:
        totals = connection.execute(
            text(
                "SELECT f.name, f.profile, f.rows, "
                "SUM(CASE WHEN s.driver_key IS NOT NULL THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN s.quarantine IS NOT NULL THEN 1 ELSE 0 END) "
                "FROM source_file f LEFT JOIN source_record s "
                "ON s.province = f.province AND s.source = f.name "
                "WHERE f.province = :p GROUP BY f.name, f.profile, f.rows ORDER BY f.name"
            ),
            {"p": province},
        ).all()
        reasons = connection.execute(
            text(
                "SELECT source, SUBSTR(link, 3), COUNT(*) FROM source_record "
                "WHERE province = :p AND quarantine IS NOT NULL GROUP BY source, SUBSTR(link, 3)"
            ),
            {"p": province},
        ).all()
    by_source: dict[str, dict[str, int]] = {}
    for source, reason, count in reasons:
        by_source.setdefault(source, {})[reason] = count
    return [
        SourceAccount(
            name, profile, rows, int(on or 0), int(quarantined or 0), by_source.get(name, {})
        )
        for name, profile, rows, on, quarantined in totals
    ]


def roster_summary(database: Database, province: str) -> RosterSummary:
    p = {"p": province}
    with database.connect() as connection:
        row = connection.execute(
            text(
                "SELECT COUNT(*), SUM(CASE WHEN member THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN id_number IS NOT NULL THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN sources > 1 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN phones > 1 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN enterprises > 1 THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN contact IS NOT NULL THEN 1 ELSE 0 END) "
                "FROM driver WHERE province = :p AND status = 'active'"
            ),
            p,
        ).one()
        funnel = connection.execute(
            text(
                "SELECT verification_stage, verification_outcome, COUNT(*) FROM driver "
                "WHERE province = :p AND status = 'active' "
                "GROUP BY verification_stage, verification_outcome"
            ),
            p,
        ).all()
        branches = connection.execute(
            text("SELECT kind, COUNT(*) FROM branch WHERE province = :p GROUP BY kind"), p
        ).all()
        enrolled = connection.execute(
            text(
                "SELECT b.kind, COUNT(*) FROM driver d JOIN branch b "
                "ON b.province = d.province AND b.code = d.branch "
                "WHERE d.province = :p AND d.status = 'active' GROUP BY b.kind"
            ),
            p,
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
