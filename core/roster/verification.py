"""Verification funnel: cross-source match, then phone check, then home visit.

Each driver carries a stage (``match``, ``phone``, ``visit``) and an outcome (``pending``,
``confirmed``, ``failed``). A driver found with the same valid ID in two or more independent
sources is confirmed by the match; the rest go to the phone stage, where the province's
provider (``chelun_check_phones``) calls them; those it cannot confirm, and those with no phone,
go to a home visit (``chelun_home_visits``, or visits recorded by a clerk). A visit that fails
ends the funnel as failed: a clerk must look. Every move is an event naming who decided and why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pluggy
from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    update,
)

from chelun.identity.codes import code_province, driver_code, driver_number
from chelun.plugin_manager import PluginError, decide
from chelun.roster.models import HomeVisit, PhoneCheck, VerificationOutcome
from chelun.storage.db import Database
from chelun.storage.events import NewEvent, record, record_selected
from chelun.storage.tables import Driver

PHONE_BATCH = 1_000
VISIT_BATCH = 5_000
MATCH_SOURCES = 2


@dataclass(frozen=True)
class VerificationResult:
    confirmed_by_match: int
    phone_results: int
    visit_results: int
    funnel: dict[tuple[str, str], int]


class Verification:
    """Moves one province's drivers through the funnel, a batch at a time."""

    def __init__(
        self, database: Database, pm: pluggy.PluginManager, province: str, *, actor: str
    ) -> None:
        self.database = database
        self.pm = pm
        self.province = province
        self.actor = actor

    def run(self) -> VerificationResult:
        matched = self.match()
        phoned = self.check_phones()
        visited = self.collect_visits()
        return VerificationResult(matched, phoned, visited, self.funnel())

    def _active(self) -> ColumnElement[bool]:
        return and_(Driver.province == self.province, Driver.status == "active")

    def _waiting(self, *stages: str) -> ColumnElement[bool]:
        return and_(
            self._active(),
            Driver.verification_stage.in_(stages),
            Driver.verification_outcome == "pending",
        )

    def match(self) -> int:
        """Stage 1 (数据比对): confirm drivers whose valid ID appears in several sources."""
        # Any driver still pending is matched again: a second source may have named them since.
        pending = and_(self._active(), Driver.verification_outcome == "pending")
        matched = and_(pending, Driver.id_number.is_not(None), Driver.sources >= MATCH_SOURCES)
        waiting = self._waiting("match")
        key = cast(Driver.id, String(20))
        with self.database.connect() as connection:
            record_selected(
                connection,
                select(
                    Driver.province,
                    key,
                    "match: the same valid ID number in "
                    + cast(Driver.sources, String(4))
                    + " independent sources",
                ).where(matched),
                actor=self.actor,
                entity="driver",
                kind="verification.confirmed",
            )
            confirmed = connection.execute(
                update(Driver)
                .where(matched)
                .values(verification_stage="match", verification_outcome="confirmed")
            ).rowcount
            record_selected(
                connection,
                select(
                    Driver.province,
                    key,
                    case(
                        (
                            Driver.id_number.is_(None),
                            "match: no valid ID number; to phone check",
                        ),
                        else_="match: found in one source only; to phone check",
                    ),
                ).where(waiting),
                actor=self.actor,
                entity="driver",
                kind="verification.next_stage",
            )
            connection.execute(update(Driver).where(waiting).values(verification_stage="phone"))
        return confirmed

    def check_phones(self) -> int:
        """Stage 2 (电话核实): ask the province's provider, a batch at a time."""
        handled = 0
        after = 0
        with self.database.connect() as connection:
            self._to_visit_without_phone(connection)
        while True:
            with self.database.connect() as connection:
                rows = connection.execute(
                    select(Driver.id, Driver.phone)
                    .where(self._waiting("phone"), Driver.id > after)
                    .order_by(Driver.id)
                    .limit(PHONE_BATCH)
                ).all()
            if not rows:
                return handled
            after = rows[-1][0]
            checks = [
                PhoneCheck(driver=driver_code(self.province, driver_id), phone=phone)
                for driver_id, phone in rows
            ]
            decision = decide(self.pm, "chelun_check_phones", province=self.province, checks=checks)
            if decision is None:
                return handled
            outcomes: list[VerificationOutcome] = decision.value
            asked = {check.driver for check in checks}
            stray = [o.driver for o in outcomes if o.driver not in asked]
            if stray:
                raise PluginError(
                    decision.plugin, "chelun_check_phones", f"answered for {stray[0]}, not asked"
                )
            with self.database.connect() as connection:
                handled += self._apply(
                    connection,
                    ((o.driver, o.outcome, o.detail) for o in outcomes),
                    stage="phone",
                    actor=f"plugin:{decision.plugin}",
                )

    def collect_visits(self) -> int:
        """Stage 3 (上门走访): visit results the province's platform reports."""
        handled = 0
        after = 0
        while True:
            with self.database.connect() as connection:
                ids = (
                    connection.execute(
                        select(Driver.id)
                        .where(self._waiting("visit"), Driver.id > after)
                        .order_by(Driver.id)
                        .limit(VISIT_BATCH)
                    )
                    .scalars()
                    .all()
                )
            if not ids:
                return handled
            after = ids[-1]
            codes = [driver_code(self.province, i) for i in ids]
            decision = decide(self.pm, "chelun_home_visits", province=self.province, drivers=codes)
            if decision is None:
                return handled
            visits: list[HomeVisit] = decision.value
            asked = set(codes)
            stray = [visit.driver for visit in visits if visit.driver not in asked]
            if stray:
                raise PluginError(
                    decision.plugin, "chelun_home_visits", f"answered for {stray[0]}, not asked"
                )
            handled += self.record_visits(visits, actor=f"plugin:{decision.plugin}")

    def record_visits(self, visits: Iterable[HomeVisit], *, actor: str) -> int:
        """Record home-visit results (from a plugin or a clerk) for this province's drivers
        waiting for a phone check or a visit; other drivers are left as they are."""
        with self.database.connect() as connection:
            return self._apply(
                connection,
                # The visitor and the note are free text that may name people: the event keeps
                # the date only.
                ((v.driver, v.outcome, f"visited {v.visited_on.isoformat()}") for v in visits),
                stage="visit",
                actor=actor,
            )

    def _to_visit_without_phone(self, connection: Connection) -> None:
        waiting = and_(self._waiting("phone"), Driver.phone.is_(None))
        record_selected(
            connection,
            select(
                Driver.province,
                cast(Driver.id, String(20)),
                literal("phone: no mobile number to call; to home visit"),
            ).where(waiting),
            actor=self.actor,
            entity="driver",
            kind="verification.next_stage",
        )
        connection.execute(update(Driver).where(waiting).values(verification_stage="visit"))

    def _apply(
        self,
        connection: Connection,
        results: Iterable[tuple[str, str, str]],
        *,
        stage: str,
        actor: str,
    ) -> int:
        # A home visit settles a driver still waiting for a phone check too (a province with no
        # phone provider sends its clerks straight to visits).
        stages = ("phone", "visit") if stage == "visit" else (stage,)
        answers: dict[int, tuple[str, str]] = {}
        for code, outcome, detail in results:
            try:
                if code_province(code) != self.province:
                    continue  # another province's driver: never touched from here
                answers[driver_number(code)] = (outcome, detail)
            except ValueError:
                continue  # not a driver code: nothing to settle
        # Only drivers still waiting at this stage move: a repeated answer changes nothing.
        waiting = [
            driver_id
            for chunk in _chunks(sorted(answers), 5_000)
            for driver_id in connection.execute(
                select(Driver.id).where(self._waiting(*stages), Driver.id.in_(chunk))
            ).scalars()
        ]
        changes: dict[tuple[str, str], list[int]] = defaultdict(list)
        events = []
        for driver_id in waiting:
            outcome, detail = answers[driver_id]
            if outcome == "confirmed":
                change, kind = (stage, "confirmed"), "verification.confirmed"
            elif stage == "phone":
                change, kind = ("visit", "pending"), "verification.next_stage"
            else:
                change, kind = (stage, "failed"), "verification.failed"
            changes[change].append(driver_id)
            events.append(
                NewEvent(
                    province=self.province,
                    actor=actor,
                    entity="driver",
                    entity_key=str(driver_id),
                    kind=kind,
                    reason=f"{stage}: {outcome}" + (f" ({detail})" if detail else ""),
                )
            )
        record(connection, events)
        for (new_stage, new_outcome), ids in changes.items():
            for chunk in _chunks(ids, 5_000):
                connection.execute(
                    update(Driver)
                    .where(Driver.id.in_(chunk))
                    .values(verification_stage=new_stage, verification_outcome=new_outcome)
                )
        return len(waiting)

    def funnel(self) -> dict[tuple[str, str], int]:
        with self.database.connect() as connection:
            rows = connection.execute(
                select(Driver.verification_stage, Driver.verification_outcome, func.count())
                .where(self._active())
                .group_by(Driver.verification_stage, Driver.verification_outcome)
            ).all()
        return dict(Counter({(stage, outcome): count for stage, outcome, count in rows}))


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
