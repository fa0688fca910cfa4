"""Misbehaving plugins: one that raises, answers with the wrong type, hangs past the time limit,
implements a hook that does not exist or is written for another hook API is reported by name
and hook, and nothing already stored is damaged. ``CHELUN_PLUGIN_FAILURE`` decides whether a run
fails or sets the record aside, where the hook allows it."""

from __future__ import annotations

import contextvars
import logging
import threading
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from chelun import hookimpl
from chelun.grievance.service import GrievanceService
from chelun.kit.conformance import snapshot
from chelun.kit.samples import Samples
from chelun.plugin_manager import (
    HOOK_API_VERSION,
    PluginError,
    PluginHost,
    PluginMisbehaved,
    PluginSettings,
    call_all,
    call_one,
    decide,
    declared_hook_api,
    misbehaviours,
)
from chelun.roster.enrolment import Enrolment
from chelun.roster.models import BranchAssignment
from chelun.settings import Settings
from chelun.storage.db import Database
from chelun.storage.tables import Driver

PROVINCE = "33"
FIRST = """\
ref,received_at,text,county
ZJ-1,2026-11-02 09:00,服务区晚上车位全满，只能停在匝道边上,330109
ZJ-2,2026-11-02 09:30,货主拖欠运费三个月没有结算,330109
"""


def plugin(name: str, provinces: tuple[str, ...] = (PROVINCE,), **hooks: Callable) -> Any:
    """A plugin module serving ``provinces``, with ``hooks`` as its implementations."""
    module = types.ModuleType(name)
    module.PROVINCES = provinces
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def host_with(*plugins: tuple[str, object], timeout: float = 30, failure: str = "fail"):
    return PluginHost(
        Settings(load_plugins=""),
        extra=list(plugins),
        entry_points=False,
        plugin_settings=PluginSettings(plugin_timeout=timeout, plugin_failure=failure),
    )


@pytest.fixture
def settings_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # Settings read a .env of the working folder: an empty one
    return tmp_path


@pytest.fixture
def stored(database: Database, settings_folder: Path) -> Iterator[Database]:
    """Zhejiang's first grievances routed by core, and a second file imported, not routed."""
    first = settings_folder / "first.csv"
    first.write_text(FIRST, encoding="utf-8")
    core = GrievanceService(database, host_with().manager(PROVINCE), PROVINCE, actor="user:test")
    core.import_file(first)
    assert core.route_pending() == 2
    core.import_file(Samples(PROVINCE).write_grievances(settings_folder / "second.csv"))
    yield database


released = threading.Event()


def hanging(province, grievances):
    released.wait(10)  # bounded: the test releases it at once after the time limit
    return [None] * len(grievances)


MISBEHAVIOURS: dict[str, tuple[Callable, str, str]] = {
    "raises": (
        lambda province, grievances: {}["no such county"],
        "raised",
        "KeyError",
    ),
    "wrong type": (
        lambda province, grievances: [{"level": "province"}] * len(grievances),
        "wrong type",
        "returned a list whose item 0 is a dict, not a Route",
    ),
    "wrong length": (
        lambda province, grievances: [None],
        "wrong type",
        "returned 1 decisions for 8 items",
    ),
    "hangs": (hanging, "timed out", "did not answer within 0.2 s (CHELUN_PLUGIN_TIMEOUT)"),
}


@pytest.mark.parametrize("how", MISBEHAVIOURS)
def test_a_misbehaving_routing_plugin_is_named_and_nothing_stored_changes(
    stored: Database, how: str
) -> None:
    function, kind, message = MISBEHAVIOURS[how]
    bad = plugin("bad", chelun_route_grievances=function)
    released.clear()
    pm = host_with(("zj-bad", bad), timeout=0.2).manager(PROVINCE)
    service = GrievanceService(stored, pm, PROVINCE, actor="user:test")
    before = snapshot(stored, PROVINCE)
    try:
        with pytest.raises(PluginMisbehaved) as raised:
            service.route_pending()
    finally:
        released.set()
    error = raised.value
    assert (error.plugin, error.hook, error.kind) == ("zj-bad", "chelun_route_grievances", kind)
    assert str(error).startswith("plugin 'zj-bad', hook chelun_route_grievances: ")
    assert message in str(error)
    # The batch was rolled back: the routed grievances as they were, the new ones received.
    assert snapshot(stored, PROVINCE) == before
    # Blocked, the plugin is out of the way: the next run routes what waited.
    core = GrievanceService(stored, host_with().manager(PROVINCE), PROVINCE, actor="user:test")
    assert core.route_pending() == 8


def test_a_hung_hook_is_not_asked_again_by_the_same_manager(settings_folder: Path) -> None:
    calls: list[str] = []

    def slow(driver, branches):
        calls.append(driver.driver)
        released.wait(10)
        return None

    released.clear()
    pm = host_with(("slow", plugin("slow", chelun_assign_branch=slow)), timeout=0.1).manager(
        PROVINCE
    )
    samples = Samples(PROVINCE)
    arguments = samples.arguments("chelun_assign_branch")
    try:
        with pytest.raises(PluginMisbehaved, match="did not answer within 0.1 s"):
            decide(pm, "chelun_assign_branch", **arguments)
        with pytest.raises(PluginMisbehaved, match="earlier in this run .*; not asked again"):
            decide(pm, "chelun_assign_branch", **arguments)
    finally:
        released.set()
    assert calls == [samples.members[0].driver]
    # Another manager (another run) asks again.
    again = host_with(("slow", plugin("slow", chelun_assign_branch=lambda driver, branches: None)))
    assert decide(again.manager(PROVINCE), "chelun_assign_branch", **arguments) is not None


def test_a_register_callback_closes_when_its_call_times_out(settings_folder: Path) -> None:
    registered: list[Any] = []
    late: list[BaseException] = []
    done = threading.Event()

    def chelun_source_profiles(register):
        released.wait(10)
        try:
            register("too late")
        except RuntimeError as exc:
            late.append(exc)
        finally:
            done.set()

    released.clear()
    pm = host_with(
        ("late", plugin("late", chelun_source_profiles=chelun_source_profiles)), timeout=0.1
    )
    with pytest.raises(PluginMisbehaved, match="chelun_source_profiles: did not answer"):
        call_all(pm.manager(PROVINCE), "chelun_source_profiles", register=registered.append)
    released.set()
    assert done.wait(10)
    assert registered == [] and "timed out" in str(late[0])


def test_core_defaults_are_never_time_limited(settings_folder: Path) -> None:
    pm = host_with(timeout=1e-9).manager(PROVINCE)
    arguments = Samples(PROVINCE).arguments("chelun_route_grievances")
    routes = call_one(pm, "chelun.grievance.defaults", "chelun_route_grievances", **arguments)
    assert len(routes) == len(arguments["grievances"])


def test_a_plugin_call_keeps_the_callers_context(settings_folder: Path) -> None:
    current: contextvars.ContextVar[str] = contextvars.ContextVar("current", default="none")
    seen: list[tuple[str, bool]] = []

    def chelun_assign_branch(driver, branches):
        seen.append((current.get(), threading.current_thread() is threading.main_thread()))
        return None

    pm = host_with(("ctx", plugin("ctx", chelun_assign_branch=chelun_assign_branch))).manager(
        PROVINCE
    )
    current.set("flow-run-42")
    call_one(
        pm, "ctx", "chelun_assign_branch", **Samples(PROVINCE).arguments("chelun_assign_branch")
    )
    assert seen == [("flow-run-42", False)]  # the caller's context, on a worker thread


WRONG_ANSWERS: dict[str, tuple[Callable, str]] = {
    "chelun_assign_branch": (
        lambda driver, branches: {"branch": "MOB-330100"},
        "returned a dict, not a BranchAssignment",
    ),
    "chelun_source_profiles": (lambda register: ["profile"], "returned a list, not None"),
    "chelun_claim_products": (lambda province: "none", "returned a str, not a list"),
    "chelun_grievance_platform": (
        lambda province: object(),
        "returned a object without name, parse, request, not a GrievancePlatform",
    ),
}


@pytest.mark.parametrize("hook", WRONG_ANSWERS)
def test_an_answer_of_the_wrong_type_is_named(settings_folder: Path, hook: str) -> None:
    function, message = WRONG_ANSWERS[hook]
    pm = host_with(("wrong", plugin("wrong", **{hook: function}))).manager(PROVINCE)
    with pytest.raises(PluginMisbehaved) as raised:
        call_one(pm, "wrong", hook, **Samples(PROVINCE).arguments(hook))
    error = raised.value
    assert (error.plugin, error.hook, error.kind) == ("wrong", hook, "wrong type")
    assert message in str(error)


def test_an_unknown_hook_is_refused_by_name_and_nothing_changes(stored: Database) -> None:
    typo = plugin("typo", chelun_route_grievance=lambda province, grievances: None)
    host = host_with(("zj-typo", typo))
    (failure,) = host.failures
    assert failure.name == "zj-typo"
    assert "chelun_route_grievance," in failure.reason and "no chelun hook" in failure.reason
    before = snapshot(stored, PROVINCE)
    service = GrievanceService(stored, host.manager(PROVINCE), PROVINCE, actor="user:test")
    assert service.route_pending() == 8  # core routes; the refused plugin is not there
    after = snapshot(stored, PROVINCE)
    routed_before = [row for row in before["grievance"] if "routed" in row]
    assert all(row in after["grievance"] for row in routed_before)


# --- the hook API --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared", [">=1,<2", "1", "==1", ">0", " >= 1 , < 3 ", "<=1", (1,), (1, 2), [1], 1]
)
def test_a_range_including_this_hook_api_is_accepted(declared: object) -> None:
    assert HOOK_API_VERSION == 1
    shown = declared_hook_api(types.SimpleNamespace(CHELUN_HOOK_API=declared))
    assert shown is not None


def test_no_declaration_is_taken_for_this_hook_api() -> None:
    assert declared_hook_api(types.SimpleNamespace()) is None


@pytest.mark.parametrize("declared", [">=2", ">=2,<3", "<1", "!=1", "==1,!=1", (2,), (0, 2), 2])
def test_a_plugin_for_another_hook_api_is_refused_with_a_clear_message(
    settings_folder: Path, declared: object
) -> None:
    old = plugin("old", chelun_route_grievances=lambda province, grievances: None)
    old.CHELUN_HOOK_API = declared
    host = host_with(("zj-old", old))
    (failure,) = host.failures
    assert failure.name == "zj-old"
    assert "this chelun's hook API is 1" in failure.reason
    assert (
        "CHELUN_HOOK_API" in failure.reason and "install a release of the plugin" in failure.reason
    )
    assert not host.manager(PROVINCE).has_plugin("zj-old")
    assert "zj-old" not in {info.name for info in host.describe()}


@pytest.mark.parametrize("declared", ["banana", "", ">=1.5", "1,", (), ("1",), True, 1.0])
def test_a_malformed_hook_api_declaration_is_refused(
    settings_folder: Path, declared: object
) -> None:
    odd = plugin("odd")
    odd.CHELUN_HOOK_API = declared
    (failure,) = host_with(("zj-odd", odd)).failures
    assert "CHELUN_HOOK_API must be a range of hook API versions" in failure.reason


def test_the_listing_shows_the_declared_hook_api(settings_folder: Path) -> None:
    declared = plugin("api")
    declared.CHELUN_HOOK_API = ">=1,<2"
    info = {i.name: i for i in host_with(("api", declared)).describe()}["api"]
    assert info.hook_api == ">=1,<2"


# --- the failure policy ----------------------------------------------------------------------


POISONED = "33-0000002"


def poisoned_assigner(driver, branches):
    if driver.driver == POISONED:
        raise ValueError(f"cannot place driver with ID {driver.driver}")  # a careless message
    return BranchAssignment(branch="MOB-330100", reason="Hangzhou mobile branch")


def add_members(database: Database) -> None:
    with database.connect() as connection:
        connection.execute(
            insert(Driver),
            [
                {
                    "id": number,
                    "province": PROVINCE,
                    "key": f"k{number}",
                    "id_number": f"33010219850101{number:03d}X",
                    "home_county": "330102",
                    "member": True,
                    "records": 1,
                    "sources": 1,
                    "phones": 0,
                    "enterprises": 0,
                    "linked_run": "r1",
                }
                for number in (1, 2, 3)
            ],
        )


def branches(database: Database) -> dict[int, str | None]:
    with database.engine.connect() as connection:
        return dict(connection.execute(select(Driver.id, Driver.branch).order_by(Driver.id)).all())


def test_under_fail_a_misbehaving_assigner_stops_the_enrolment(
    database: Database, settings_folder: Path
) -> None:
    add_members(database)
    pm = host_with(("zj", plugin("zj", chelun_assign_branch=poisoned_assigner))).manager(PROVINCE)
    with pytest.raises(PluginError, match="plugin 'zj', hook chelun_assign_branch: ValueError"):
        Enrolment(database, pm, PROVINCE, cap=5).run()
    assert branches(database) == {1: None, 2: None, 3: None}  # rolled back


def test_under_quarantine_the_driver_waits_and_the_others_are_enrolled(
    database: Database, settings_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chelun.plugins")
    add_members(database)
    zj = plugin("zj", chelun_assign_branch=poisoned_assigner)
    pm = host_with(("zj", zj), failure="quarantine").manager(PROVINCE)
    result = Enrolment(database, pm, PROVINCE, cap=5).run()
    assert result.enrolled == 2
    assert branches(database) == {1: "MOB-330100", 2: None, 3: "MOB-330100"}
    (set_aside,) = misbehaviours(pm)
    assert (set_aside.plugin, set_aside.hook, set_aside.kind, set_aside.count) == (
        "zj",
        "chelun_assign_branch",
        "raised",
        1,
    )
    warnings = [r.getMessage() for r in caplog.records if r.name == "chelun.plugins"]
    assert len(warnings) == 1
    assert "'zj'" in warnings[0] and "chelun_assign_branch" in warnings[0]
    assert "raised ValueError" in warnings[0] and POISONED not in warnings[0]
    # Fixed, the plugin places the driver in the next run.
    fixed = plugin(
        "zj",
        chelun_assign_branch=lambda driver, branches: BranchAssignment(
            branch="MOB-330100", reason="fixed"
        ),
    )
    Enrolment(database, host_with(("zj", fixed)).manager(PROVINCE), PROVINCE, cap=5).run()
    assert branches(database)[2] == "MOB-330100"


def test_under_quarantine_a_batch_decision_still_fails(stored: Database) -> None:
    bad = plugin("bad", chelun_route_grievances=lambda province, grievances: {}["x"])
    pm = host_with(("zj-bad", bad), failure="quarantine").manager(PROVINCE)
    before = snapshot(stored, PROVINCE)
    with pytest.raises(PluginMisbehaved, match="chelun_route_grievances: KeyError"):
        GrievanceService(stored, pm, PROVINCE, actor="user:test").route_pending()
    assert snapshot(stored, PROVINCE) == before
    assert misbehaviours(pm) == []


def test_the_policy_is_read_from_the_environment(
    settings_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_PLUGIN_FAILURE", "quarantine")
    monkeypatch.setenv("CHELUN_PLUGIN_TIMEOUT", "0")
    host = PluginHost(Settings(load_plugins=""), entry_points=False)
    assert (host.policy.failure, host.policy.timeout) == ("quarantine", None)
    monkeypatch.setenv("CHELUN_PLUGIN_FAILURE", "ignore")
    with pytest.raises(ValueError, match="plugin_failure"):
        PluginSettings()
