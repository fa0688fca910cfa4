"""Each hook's docstring says how often it is called (a ``Calls:`` line), and a real intake calls
each roster hook exactly that often."""

from __future__ import annotations

import inspect
import math
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from chelun import hookimpl
from chelun.capabilities import spec_classes
from chelun.demo.roster import generate_province
from chelun.identity.codes import driver_code
from chelun.plugin_manager import PluginHost
from chelun.roster import service, verification
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    EnterpriseSummary,
    HomeVisit,
    Pairing,
    PhoneCheck,
    SourceProfile,
    VerificationOutcome,
)
from chelun.roster.service import RosterIntake
from chelun.roster.specs import RosterSpec
from chelun.roster.staging import SourceInput
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Driver

PROVINCE = "32"
#: The batch sizes as chelun runs them; the test makes them smaller to see several batches.
PHONE_BATCH = verification.PHONE_BATCH
VISIT_BATCH = verification.VISIT_BATCH


def hooks_of(spec_class: type) -> dict[str, Callable[..., object]]:
    return {
        name: func
        for name, func in vars(spec_class).items()
        if name.startswith("chelun_") and callable(func)
    }


HOOKS = {name: func for spec in spec_classes() for name, func in hooks_of(spec).items()}


def calls_line(hook: str) -> str:
    lines = (inspect.getdoc(HOOKS[hook]) or "").splitlines()
    stated = [line for line in lines if line.startswith("Calls: ")]
    assert len(stated) == 1, f"the docstring of {hook} has {len(stated)} 'Calls: ' lines, not 1"
    return stated[0]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_docstring_says_how_often_it_is_called(hook: str) -> None:
    assert len(calls_line(hook)) > len("Calls: ")


@pytest.mark.parametrize(
    ("hook", "size"), [("chelun_check_phones", PHONE_BATCH), ("chelun_home_visits", VISIT_BATCH)]
)
def test_stated_batch_sizes_are_the_real_ones(hook: str, size: int) -> None:
    stated = re.search(r"up to ([\d,]+) drivers", calls_line(hook))
    assert stated is not None, calls_line(hook)
    assert int(stated.group(1).replace(",", "")) == size


class CountingPlugin:
    """Implements every roster hook, records each call and decides nothing it need not: core's
    defaults and the province's plugin still decide. Phone checks and home visits answer
    ``answer`` ([]: an answer that settles nobody; None: no provider)."""

    PROVINCES = (PROVINCE,)

    def __init__(self) -> None:
        self.calls: dict[str, list[object]] = defaultdict(list)
        self.answer: list | None = []

    @hookimpl(tryfirst=True)
    def chelun_source_profiles(self, register: Callable[[SourceProfile], None]) -> None:
        self.calls["chelun_source_profiles"].append(None)

    @hookimpl(tryfirst=True)
    def chelun_branches(
        self,
        province: str,
        enterprises: list[EnterpriseSummary],
        register: Callable[[Branch], None],
    ) -> None:
        self.calls["chelun_branches"].append(province)

    @hookimpl(tryfirst=True)
    def chelun_assign_branch(
        self, driver: DriverProfile, branches: BranchDirectory
    ) -> BranchAssignment | None:
        self.calls["chelun_assign_branch"].append(driver.driver)
        return None

    @hookimpl(tryfirst=True)
    def chelun_pair_drivers(
        self,
        province: str,
        members: list[DriverProfile],
        drivers: list[DriverProfile],
        loads: dict[str, int],
        cap: int,
    ) -> list[Pairing] | None:
        cities = {(person.home_county or "")[:4] for person in members + drivers}
        assert len(cities) == 1, f"one call mixed home cities {sorted(cities)}"
        self.calls["chelun_pair_drivers"].append(cities.pop())
        return None

    @hookimpl(tryfirst=True)
    def chelun_check_phones(
        self, province: str, checks: list[PhoneCheck]
    ) -> list[VerificationOutcome] | None:
        self.calls["chelun_check_phones"].append([check.driver for check in checks])
        return None if self.answer is None else []

    @hookimpl(tryfirst=True)
    def chelun_home_visits(self, province: str, drivers: list[str]) -> list[HomeVisit] | None:
        self.calls["chelun_home_visits"].append(list(drivers))
        return None if self.answer is None else []

    def count(self, hook: str) -> int:
        return len(self.calls[hook])


def test_the_counting_plugin_implements_every_roster_hook() -> None:
    implemented = {name for name in vars(CountingPlugin) if name.startswith("chelun_")}
    assert implemented == set(hooks_of(RosterSpec))


def drivers(database: Database) -> list[Driver]:
    with database.session() as session:
        rows = session.scalars(
            select(Driver)
            .where(Driver.province == PROVINCE, Driver.status == "active")
            .order_by(Driver.id)
        ).all()
        session.expunge_all()
    return list(rows)


def waiting(database: Database, stage: str) -> list[str]:
    """Codes of the drivers waiting at a verification stage, in roster order."""
    return [
        driver_code(PROVINCE, d.id)
        for d in drivers(database)
        if d.verification_stage == stage and d.verification_outcome == "pending"
    ]


def to_assign(database: Database) -> list[str]:
    """The rule of chelun_assign_branch's Calls: line: member drivers without a branch (active,
    with an ID number)."""
    return [
        driver_code(PROVINCE, d.id)
        for d in drivers(database)
        if d.member and d.branch is None and d.id_number is not None
    ]


def cities_to_pair(database: Database) -> list[str]:
    """The rule of chelun_pair_drivers's Calls: line: home cities (first four digits of the home
    county) with member drivers and ordinary drivers not yet paired."""
    members: set[str] = set()
    unpaired: set[str] = set()
    for d in drivers(database):
        if d.id_number is None or d.home_county is None:
            continue
        if d.member:
            members.add(d.home_county[:4])
        elif d.contact is None:
            unpaired.add(d.home_county[:4])
    return sorted(members & unpaired)


def batches(codes: list[str], size: int) -> list[list[str]]:
    return [codes[start : start + size] for start in range(0, len(codes), size)]


def test_a_real_intake_calls_each_hook_as_its_docstring_says(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # settings read a .env of the working folder: an empty one
    generated = generate_province(
        tmp_path / "sources", PROVINCE, 400, seed=11, spreadsheet=False, member_share=0.2
    )
    sources = [SourceInput(source.name, source.path) for source in generated]
    counter = CountingPlugin()
    host = PluginHost(Settings(), extra=[("counter", counter)], entry_points=False)
    pm = host.manager(PROVINCE)
    assert pm.has_plugin("counter")
    database = sqlite_database

    # chelun_source_profiles: once per intake, whatever the number of files, staged in worker
    # processes or here.
    intake = RosterIntake(database, pm, PROVINCE, actor="user:test")
    assert counter.count("chelun_source_profiles") == 0  # not before the intake stages
    monkeypatch.setattr(service, "PARALLEL_MIN_BYTES", 0)
    staged = intake.stage_all(sources, workers=2)
    assert len(staged) == len(sources) >= 4
    assert service._staging_pool.cache_info().currsize  # the files went to worker processes
    intake.stage(sources[0])  # unchanged, skipped: the same intake
    assert counter.count("chelun_source_profiles") == 1
    RosterIntake(database, pm, PROVINCE, actor="user:test").stage(sources[0])
    assert counter.count("chelun_source_profiles") == 2  # another intake asks again
    intake.link()

    # chelun_check_phones and chelun_home_visits: once per batch of the drivers waiting at the
    # stage, as long as each batch is answered; once per run when none is.
    monkeypatch.setattr(verification, "PHONE_BATCH", 25)
    monkeypatch.setattr(verification, "VISIT_BATCH", 2)
    intake.verify()
    phone, visit = waiting(database, "phone"), waiting(database, "visit")
    # The answers settled nobody: the drivers asked are the drivers still waiting.
    assert counter.calls["chelun_check_phones"] == batches(phone, 25)
    assert counter.calls["chelun_home_visits"] == batches(visit, 2)
    assert counter.count("chelun_check_phones") == math.ceil(len(phone) / 25) > 1
    assert counter.count("chelun_home_visits") == math.ceil(len(visit) / 2) > 1
    counter.answer = None  # no provider: one batch, no answer, the run stops asking
    intake.verify()
    assert counter.calls["chelun_check_phones"][-1] == phone[:25]
    assert counter.calls["chelun_home_visits"][-1] == visit[:2]
    assert counter.count("chelun_check_phones") == math.ceil(len(phone) / 25) + 1
    assert counter.count("chelun_home_visits") == math.ceil(len(visit) / 2) + 1

    # chelun_branches: once per enrolment run. chelun_assign_branch: once per member driver
    # without a branch. chelun_pair_drivers: once per home city with members and unpaired
    # drivers. A small cap leaves drivers unpaired, whose cities the next run asks again.
    for run in (1, 2):
        assigned = counter.count("chelun_assign_branch")
        paired = counter.count("chelun_pair_drivers")
        expected_members, expected_cities = to_assign(database), cities_to_pair(database)
        intake.enrol(cap=2)
        assert counter.count("chelun_branches") == run
        assert counter.calls["chelun_assign_branch"][assigned:] == expected_members
        assert counter.calls["chelun_pair_drivers"][paired:] == expected_cities
        if run == 1:
            assert len(expected_members) > 10 and len(expected_cities) > 1
            assert to_assign(database) == []  # core's defaults placed every member
        else:
            assert expected_cities, "the cap of 2 should have left drivers unpaired"
