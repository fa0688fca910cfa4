"""Verification funnel: cross-source match, then phone check, then home visit.

Each driver carries a stage (``match``, ``phone``, ``visit``) and an outcome (``pending``,
``confirmed``, ``failed``). A driver found with the same valid ID in two or more independent
sources is confirmed by the match; the rest go to the phone stage, where the province's
provider (``chelun_check_phones``) calls them; those it cannot confirm, and those with no phone,
go to a home visit (``chelun_home_visits``, or visits recorded by a clerk). A visit that fails
ends the funnel as failed: a clerk must look. Every move is an event naming who decided and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy
from sqlalchemy import Connection, text

from chelun.identity.codes import code_province, driver_code, driver_number
from chelun.plugin_manager import PluginError, decide
from chelun.roster.models import HomeVisit, PhoneCheck, VerificationOutcome
from chelun.storage.db import Database

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

    def match(self) -> int:
        """Stage 1 (数据比对): confirm drivers whose valid ID appears in several sources."""
        params = {"p": self.province, "n": MATCH_SOURCES, "actor": self.actor}
        # Any driver still pending is matched again: a second source may have named them since.
        pending = "province = :p AND status = 'active' AND verification_outcome = 'pending'"
        waiting = f"{pending} AND verification_stage = 'match'"
        with self.database.connect() as connection:
            confirmed = connection.execute(
                text(
                    "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                    "SELECT CURRENT_TIMESTAMP, province, :actor, 'driver', "
                    "CAST(id AS VARCHAR(20)), 'verification.confirmed', "
                    "'match: the same valid ID number in ' || CAST(sources AS VARCHAR(4)) || "
                    f"' independent sources' FROM driver WHERE {pending} "
                    "AND id_number IS NOT NULL AND sources >= :n"
                ),
                params,
            ).rowcount
            connection.execute(
                text(
                    "UPDATE driver SET verification_stage = 'match', "
                    f"verification_outcome = 'confirmed' WHERE {pending} "
                    "AND id_number IS NOT NULL AND sources >= :n"
                ),
                params,
            )
            connection.execute(
                text(
                    "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                    "SELECT CURRENT_TIMESTAMP, province, :actor, 'driver', "
                    "CAST(id AS VARCHAR(20)), 'verification.next_stage', "
                    "CASE WHEN id_number IS NULL THEN 'match: no valid ID number; to phone check'"
                    " ELSE 'match: found in one source only; to phone check' END "
                    f"FROM driver WHERE {waiting}"
                ),
                params,
            )
            connection.execute(
                text(f"UPDATE driver SET verification_stage = 'phone' WHERE {waiting}"), params
            )
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
                    text(
                        "SELECT id, phone FROM driver WHERE province = :p AND status = 'active' "
                        "AND verification_stage = 'phone' AND verification_outcome = 'pending' "
                        "AND id > :after ORDER BY id LIMIT :n"
                    ),
                    {"p": self.province, "after": after, "n": PHONE_BATCH},
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
                        text(
                            "SELECT id FROM driver WHERE province = :p AND status = 'active' "
                            "AND verification_stage = 'visit' AND verification_outcome = 'pending' "
                            "AND id > :after ORDER BY id LIMIT :n"
                        ),
                        {"p": self.province, "after": after, "n": VISIT_BATCH},
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
            handled += self.record_visits(decision.value, actor=f"plugin:{decision.plugin}")

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
        waiting = (
            "province = :p AND status = 'active' AND verification_stage = 'phone' "
            "AND verification_outcome = 'pending' AND phone IS NULL"
        )
        params = {"p": self.province, "actor": self.actor}
        connection.execute(
            text(
                "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                "SELECT CURRENT_TIMESTAMP, province, :actor, 'driver', CAST(id AS VARCHAR(20)), "
                "'verification.next_stage', 'phone: no mobile number to call; to home visit' "
                f"FROM driver WHERE {waiting}"
            ),
            params,
        )
        connection.execute(
            text(f"UPDATE driver SET verification_stage = 'visit' WHERE {waiting}"), params
        )

    def _apply(
        self,
        connection: Connection,
        results: Iterable[tuple[str, str, str]],
        *,
        stage: str,
        actor: str,
    ) -> int:
        updates = []
        events = []
        # A home visit settles a driver still waiting for a phone check too (a province with no
        # phone provider sends its clerks straight to visits).
        also = "phone" if stage == "visit" else stage
        for code, outcome, detail in results:
            try:
                if code_province(code) != self.province:
                    continue  # another province's driver: never touched from here
                driver_id = driver_number(code)
            except ValueError:
                continue  # not a driver code: nothing to settle
            if outcome == "confirmed":
                change = {"stage": stage, "outcome": "confirmed"}
                kind = "verification.confirmed"
            elif stage == "phone":
                change = {"stage": "visit", "outcome": "pending"}
                kind = "verification.next_stage"
            else:
                change = {"stage": stage, "outcome": "failed"}
                kind = "verification.failed"
            updates.append(
                {**change, "id": driver_id, "at": stage, "also": also, "p": self.province}
            )
            events.append(
                {
                    "p": self.province,
                    "actor": actor,
                    "key": str(driver_id),
                    "kind": kind,
                    "reason": f"{stage}: {outcome}" + (f" ({detail})" if detail else ""),
                    "id": driver_id,
                    "at": stage,
                    "also": also,
                }
            )
        if not updates:
            return 0
        # Only drivers still waiting at this stage move: a repeated answer changes nothing.
        connection.execute(
            text(
                "INSERT INTO event (at, province, actor, entity, entity_key, kind, reason) "
                "SELECT CURRENT_TIMESTAMP, province, :actor, 'driver', :key, :kind, :reason "
                "FROM driver WHERE id = :id AND province = :p "
                "AND verification_stage IN (:at, :also) AND verification_outcome = 'pending'"
            ),
            events,
        )
        result = connection.execute(
            text(
                "UPDATE driver SET verification_stage = :stage, verification_outcome = :outcome "
                "WHERE id = :id AND province = :p AND verification_stage IN (:at, :also) "
                "AND verification_outcome = 'pending'"
            ),
            updates,
        )
        return result.rowcount

    def funnel(self) -> dict[tuple[str, str], int]:
        with self.database.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT verification_stage, verification_outcome, COUNT(*) FROM driver "
                    "WHERE province = :p AND status = 'active' "
                    "GROUP BY verification_stage, verification_outcome"
                ),
                {"p": self.province},
            ).all()
        return dict(Counter({(stage, outcome): count for stage, outcome, count in rows}))
