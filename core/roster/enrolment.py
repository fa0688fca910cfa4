"""Enrolment: member drivers into branches, ordinary drivers paired with a member.

Both are decisions of the province's plugins (``chelun_assign_branch``, ``chelun_pair_drivers``)
with core's defaults running last. Every decision is written with an event naming the plugin that
made it and its reason. Enrolment only adds: a driver who has a branch or a contact keeps it, so
running it again changes nothing.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy
from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from chelun.identity.codes import driver_code, driver_number
from chelun.plugin_manager import PluginError, call_each, decide
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
    Pairing,
)
from chelun.storage.db import Database, plain_rows
from chelun.storage.events import NewEvent, record
from chelun.storage.tables import Branch as BranchRow
from chelun.storage.tables import Driver


@dataclass(frozen=True)
class EnrolmentResult:
    branches: dict[str, int]
    enrolled: int
    paired: int


def enterprises_of(connection: Connection, province: str) -> list[EnterpriseSummary]:
    rows = connection.execute(
        select(
            Driver.uscc,
            func.min(Driver.enterprise),
            func.count(),
            func.sum(case((Driver.member, 1), else_=0)),
        )
        .where(Driver.province == province, Driver.status == "active", Driver.uscc.is_not(None))
        .group_by(Driver.uscc)
        .order_by(Driver.uscc)
    )
    # The roster's own figures, typed by the query: built without validation.
    return [
        EnterpriseSummary.model_construct(
            uscc=uscc,
            name=name or uscc,
            county=uscc[2:8],
            drivers=int(drivers),
            members=int(members or 0),
        )
        for uscc, name, drivers, members in rows
    ]


def collect_branches(
    pm: pluggy.PluginManager, province: str, enterprises: list[EnterpriseSummary]
) -> dict[str, tuple[Branch, str]]:
    """Every branch the province's plugins register, by code, with the plugin that did."""
    branches: dict[str, tuple[Branch, str]] = {}

    def arguments(plugin: str) -> dict[str, object]:
        def register(branch: Branch) -> None:
            if branch.province != province:
                raise PluginError(
                    plugin,
                    "chelun_branches",
                    f"registered branch {branch.code!r} for province {branch.province}, "
                    f"while enrolling province {province}: a plugin registers branches only "
                    "for the province it is called for",
                )
            branches.setdefault(branch.code, (branch, plugin))

        return {"province": province, "enterprises": enterprises, "register": register}

    call_each(pm, "chelun_branches", arguments)
    return branches


_PROFILE_FIELDS = frozenset(DriverProfile.model_fields)
_new = object.__new__
_set = object.__setattr__


def _profiles(rows: Iterable[tuple], province: str) -> list[DriverProfile]:
    """Profiles from the roster's own rows, which need no validation: each is built as
    ``model_construct`` builds it, less its per-field bookkeeping (half the time at 80,000
    drivers; tests/roster/test_verification_enrolment.py holds the two equal)."""
    profiles = []
    for driver_id, county, member, uscc, enterprise in rows:
        profile = _new(DriverProfile)
        _set(
            profile,
            "__dict__",
            {
                "driver": driver_code(province, driver_id),
                "province": province,
                "home_county": county,
                "member": bool(member),
                "enterprise_uscc": uscc,
                "enterprise": enterprise,
            },
        )
        _set(profile, "__pydantic_fields_set__", _PROFILE_FIELDS)
        _set(profile, "__pydantic_extra__", None)
        _set(profile, "__pydantic_private__", None)
        profiles.append(profile)
    return profiles


class Enrolment:
    """Enrols and pairs one province's drivers."""

    def __init__(
        self, database: Database, pm: pluggy.PluginManager, province: str, *, cap: int
    ) -> None:
        self.database = database
        self.pm = pm
        self.province = province
        self.cap = cap

    def run(self) -> EnrolmentResult:
        # Hundreds of thousands of rows and profiles, none in a cycle: the cyclic collector
        # would only walk them again and again (as in chelun.demo.roster).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if collecting:
                gc.enable()

    def _run(self) -> EnrolmentResult:
        with self.database.connect() as connection:
            registered = collect_branches(
                self.pm, self.province, enterprises_of(connection, self.province)
            )
            self._store_branches(connection, registered)
            branches = [branch for branch, _ in registered.values()]
            directory = BranchDirectory(branches)
            enrolled = self._enrol(connection, directory)
            paired = self._pair(connection)
        return EnrolmentResult(dict(Counter(b.kind for b in branches)), enrolled, paired)

    def _store_branches(
        self, connection: Connection, registered: dict[str, tuple[Branch, str]]
    ) -> None:
        known = set(
            connection.execute(
                select(BranchRow.code).where(BranchRow.province == self.province)
            ).scalars()
        )
        new = [(b, plugin) for code, (b, plugin) in registered.items() if code not in known]
        if not new:
            return
        connection.execute(
            insert(BranchRow),
            [
                {**b.model_dump(exclude={"grid_counties"}), "grid_counties": list(b.grid_counties)}
                for b, _ in new
            ],
        )
        record(
            connection,
            (
                NewEvent(
                    province=self.province,
                    actor=f"plugin:{plugin}",
                    entity="branch",
                    entity_key=b.code,
                    kind="branch.registered",
                    reason=f"{b.kind} branch registered",
                )
                for b, plugin in new
            ),
        )

    def _enrol(self, connection: Connection, directory: BranchDirectory) -> int:
        rows = connection.execute(
            select(Driver.id, Driver.home_county, Driver.member, Driver.uscc, Driver.enterprise)
            .where(
                Driver.province == self.province,
                Driver.status == "active",
                Driver.member,
                Driver.branch.is_(None),
                Driver.id_number.is_not(None),
            )
            .order_by(Driver.id)
        ).all()
        updates = []
        events = []
        for profile in _profiles(rows, self.province):
            decision = decide(self.pm, "chelun_assign_branch", driver=profile, branches=directory)
            if decision is None:
                continue
            assignment: BranchAssignment = decision.value
            if assignment.branch not in directory:
                raise PluginError(
                    decision.plugin,
                    "chelun_assign_branch",
                    f"assigned branch {assignment.branch!r}, which no plugin registered",
                )
            driver_id = driver_number(profile.driver)
            updates.append({"branch": assignment.branch, "driver_id": driver_id})
            events.append(
                (
                    str(driver_id),
                    "enrolment.assigned",
                    f"{assignment.branch}: {assignment.reason}",
                    decision.plugin,
                )
            )
        if updates:
            connection.execute(update(Driver).where(Driver.id == bindparam("driver_id")), updates)
            self._plugin_events(connection, events)
        return len(updates)

    def _pair(self, connection: Connection) -> int:
        rows = plain_rows(
            connection,
            select(
                Driver.id,
                Driver.home_county,
                Driver.member,
                Driver.uscc,
                Driver.enterprise,
                Driver.contact,
            )
            .where(
                Driver.province == self.province,
                Driver.status == "active",
                Driver.id_number.is_not(None),
                Driver.home_county.is_not(None),
            )
            .order_by(Driver.id),
        )
        loads = Counter(
            driver_code(self.province, contact) for *_, contact in rows if contact is not None
        )
        by_city: dict[str, tuple[list[tuple], list[tuple]]] = defaultdict(lambda: ([], []))
        for row in rows:
            members, ordinary = by_city[row[1][:4]]
            if row[2]:
                members.append(row[:5])
            elif row[5] is None:
                ordinary.append(row[:5])
        paired = 0
        for city in sorted(by_city):
            member_rows, ordinary_rows = by_city[city]
            if not member_rows or not ordinary_rows:
                continue
            members = _profiles(member_rows, self.province)
            drivers = _profiles(ordinary_rows, self.province)
            batch_loads = {m.driver: loads.get(m.driver, 0) for m in members}
            decision = decide(
                self.pm,
                "chelun_pair_drivers",
                province=self.province,
                members=members,
                drivers=drivers,
                loads=batch_loads,
                cap=self.cap,
            )
            if decision is None:
                continue
            pairings: list[Pairing] = decision.value
            self._check_pairings(decision.plugin, pairings, members, drivers, batch_loads)
            if not pairings:
                continue
            connection.execute(
                update(Driver).where(Driver.id == bindparam("driver_id"), Driver.contact.is_(None)),
                [
                    {"contact": driver_number(p.member), "driver_id": driver_number(p.driver)}
                    for p in pairings
                ],
            )
            self._plugin_events(
                connection,
                [
                    (
                        str(driver_number(p.driver)),
                        "pairing.paired",
                        f"{p.member}: {p.reason}",
                        decision.plugin,
                    )
                    for p in pairings
                ],
            )
            for pairing in pairings:
                loads[pairing.member] += 1
            paired += len(pairings)
        return paired

    def _check_pairings(
        self,
        plugin: str,
        pairings: list[Pairing],
        members: list[DriverProfile],
        drivers: list[DriverProfile],
        loads: dict[str, int],
    ) -> None:
        member_codes = {m.driver for m in members}
        driver_codes = {d.driver for d in drivers}
        seen: set[str] = set()
        load = Counter(loads)
        for pairing in pairings:
            problem = None
            if pairing.member not in member_codes:
                problem = f"pairs with {pairing.member}, not one of the members it was given"
            elif pairing.driver not in driver_codes or pairing.driver in seen:
                problem = f"pairs {pairing.driver}, not an unpaired driver or paired twice"
            else:
                load[pairing.member] += 1
                if load[pairing.member] > self.cap:
                    problem = f"gives {pairing.member} more than the cap of {self.cap}"
            if problem:
                raise PluginError(plugin, "chelun_pair_drivers", problem)
            seen.add(pairing.driver)

    def _plugin_events(
        self, connection: Connection, events: list[tuple[str, str, str, str]]
    ) -> None:
        record(
            connection,
            (
                NewEvent(
                    province=self.province,
                    actor=f"plugin:{plugin}",
                    entity="driver",
                    entity_key=key,
                    kind=kind,
                    reason=reason,
                )
                for key, kind, reason, plugin in events
            ),
        )
