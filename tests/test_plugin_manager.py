"""Plugin loading: one manager per province, allow/block lists, entry points, declarations,
plugins that fail to load, hook errors."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import logging
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chelun import hookimpl
from chelun.capabilities import default_plugins
from chelun.cli import app
from chelun.plugin_manager import (
    PluginError,
    PluginFailure,
    PluginHost,
    call_all,
    decide,
)
from chelun.roster.models import (
    Branch,
    BranchAssignment,
    BranchDirectory,
    DriverProfile,
    SourceProfile,
)
from chelun.roster.profiles import BUILT_IN_PROFILES
from chelun.settings import Settings

DEFAULTS_NAME = "chelun.roster.defaults"
#: Core's default plugins, one per capability, in the order managers hold them.
CORE_ORDER = [name for name, _ in default_plugins()]
CORE = set(CORE_ORDER)
PILOT = {"jiangsu": "32", "sichuan": "51", "guizhou": "52", "gansu": "62"}
GANSU_PROFILE = SourceProfile(
    name="gansu-freight", columns={"name": ("姓名",)}, description="Gansu freight platform"
)
NEUTRAL_PROFILE = SourceProfile(name="neutral-list", columns={"name": ("姓名",)})


def plugin_module(
    name: str, provinces: tuple[str, ...] | None, **hooks: Callable
) -> types.ModuleType:
    """A plugin as a module object serving ``provinces`` (None: declared province-neutral);
    ``hooks`` become its hook implementations."""
    module = types.ModuleType(name)
    if provinces is None:
        module.PROVINCE_NEUTRAL = True
    else:
        module.PROVINCES = provinces
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def registering(profile: SourceProfile) -> Callable:
    def chelun_source_profiles(register):
        register(profile)

    return chelun_source_profiles


def profiles_of(pm) -> list[str]:
    seen: list[str] = []
    call_all(pm, "chelun_source_profiles", register=lambda profile: seen.append(profile.name))
    return seen


def names_in(pm) -> set[str]:
    return {name for name, _ in pm.list_name_plugin()}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # Settings also read a .env of the working folder: run from an empty one.
    monkeypatch.chdir(tmp_path)
    return Settings()


# --- one manager per province ---------------------------------------------------------------------


def test_province_plugin_only_in_its_provinces_manager(settings: Settings) -> None:
    gansu_extra = plugin_module(
        "gansu_extra", ("62",), chelun_source_profiles=registering(GANSU_PROFILE)
    )
    neutral = plugin_module("neutral", None, chelun_source_profiles=registering(NEUTRAL_PROFILE))
    host = PluginHost(
        settings, extra=[("gansu-extra", gansu_extra), ("neutral", neutral)], entry_points=False
    )
    pm62, pm32 = host.manager("62"), host.manager("32")

    assert pm62.get_plugin("gansu-extra") is gansu_extra
    assert pm32.get_plugin("gansu-extra") is None
    assert not pm32.is_registered(gansu_extra)
    for pm in (pm62, pm32):
        assert pm.get_plugin("neutral") is neutral
        assert pm.has_plugin(DEFAULTS_NAME)

    # The hooks called on a province's manager reach only what that manager holds.
    built_in = [profile.name for profile in BUILT_IN_PROFILES]
    assert "gansu-freight" in profiles_of(pm62)
    assert "gansu-freight" not in profiles_of(pm32)
    assert set(built_in) | {"neutral-list"} <= set(profiles_of(pm32))
    # Core's defaults run last, so a plugin's profile of the same name replaces the built-in one.
    assert profiles_of(pm62)[-len(built_in) :] == built_in

    assert host.manager("62") is pm62  # built once per province
    assert host.failures == []


def test_plugin_class_instance_with_string_provinces(settings: Settings) -> None:
    class Guizhou:
        PROVINCES = "52"  # a lone code, not a tuple

        @hookimpl
        def chelun_source_profiles(self, register):
            register(GANSU_PROFILE)

    plugin = Guizhou()
    host = PluginHost(settings, extra=[("gz", plugin)], entry_points=False)
    assert host.manager("52").get_plugin("gz") is plugin
    assert host.manager("51").get_plugin("gz") is None
    # "52" must not be read as the characters "5" and "2".
    assert host.manager("5").get_plugin("gz") is None


def test_in_repo_province_plugins_only_in_their_province(settings: Settings) -> None:
    host = PluginHost(settings, entry_points=False)
    for name, code in PILOT.items():
        assert names_in(host.manager(code)) == {*CORE, name}
    assert names_in(host.manager("11")) == CORE


def test_in_repo_plugins_are_entry_points_of_chelun(settings: Settings) -> None:
    # The in-repo province plugins take the road a third-party plugin takes: chelun's own
    # distribution declares them in the entry-point group, and core keeps no list of names.
    declared = {
        entry_point.name: entry_point.value
        for dist in importlib.metadata.distributions(name="chelun")
        for entry_point in dist.entry_points.select(group="chelun")
    }
    assert declared == {name: f"chelun.plugins.{name}" for name in PILOT}
    infos = PluginHost(settings, entry_points=False).describe()
    # Core's defaults first, then the entry points in the order of their names.
    assert [info.name for info in infos] == [*CORE_ORDER, *sorted(PILOT)]
    for info in infos[len(CORE_ORDER) :]:
        assert info.origin == f"entry point chelun.plugins.{info.name}"
        assert info.version == importlib.metadata.version("chelun")
        assert info.provinces == (PILOT[info.name],)


def test_allow_list_loads_only_named_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    host = PluginHost(Settings(load_plugins="gansu"), entry_points=False)
    assert names_in(host.manager("62")) == {*CORE, "gansu"}
    for code in ("32", "51", "52"):
        assert names_in(host.manager(code)) == CORE
    assert [info.name for info in host.describe()] == [*CORE_ORDER, "gansu"]


def test_allow_list_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHELUN_LOAD_PLUGINS", " sichuan , guizhou ")
    host = PluginHost(Settings(), entry_points=False)
    assert [info.name for info in host.describe()] == [*CORE_ORDER, "guizhou", "sichuan"]


def test_block_list_removes_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    host = PluginHost(Settings(block_plugins="jiangsu"), entry_points=False)
    assert names_in(host.manager("32")) == CORE
    assert names_in(host.manager("62")) == {*CORE, "gansu"}
    assert "jiangsu" not in {info.name for info in host.describe()}

    both = PluginHost(Settings(block_plugins="jiangsu, gansu"), entry_points=False)
    assert [info.name for info in both.describe()] == [*CORE_ORDER, "guizhou", "sichuan"]


@pytest.fixture
def bare(settings: Settings) -> Settings:
    """Settings loading no plugin but core's defaults (and those registered in code)."""
    return Settings(load_plugins="")


def test_empty_allow_list_loads_only_core(bare: Settings) -> None:
    host = PluginHost(bare, entry_points=False)
    assert [info.name for info in host.describe()] == CORE_ORDER
    assert names_in(host.manager("32")) == CORE


# --- validation and hook errors -------------------------------------------------------------------


def failure_of(host: PluginHost, name: str) -> PluginFailure:
    failures = [failure for failure in host.failures if failure.name == name]
    assert len(failures) == 1, host.failures
    return failures[0]


def assert_pilot_intact(host: PluginHost) -> None:
    """Every pilot province's manager builds and holds core's defaults and its own plugin, and no
    other province's."""
    for name, code in PILOT.items():
        held = names_in(host.manager(code))
        assert {*CORE, name} <= held and held.isdisjoint(set(PILOT) - {name})


@pytest.mark.parametrize(
    ("declaration", "expected"),
    [
        ({}, "declares no provinces"),
        ({"PROVINCE_NEUTRAL": False}, "declares no provinces"),
        ({"PROVINCES": ("62",), "PROVINCE_NEUTRAL": True}, "both PROVINCES and PROVINCE_NEUTRAL"),
        ({"PROVINCE_NEUTRAL": "yes"}, "PROVINCE_NEUTRAL must be True"),
        ({"PROVINCES": ()}, "PROVINCES must be a tuple of two-digit province codes"),
        ({"PROVINCES": 62}, "PROVINCES must be a tuple of two-digit province codes"),
        ({"PROVINCES": (62,)}, "write two-digit codes as strings"),
        ({"PROVINCES": ("6",)}, "write two-digit codes as strings"),
        ({"PROVINCES": ("620",)}, "write two-digit codes as strings"),
        ({"PROVINCES": ("62", "99")}, "'99', which is not a province code"),
    ],
)
def test_plugin_without_a_valid_declaration_is_refused(
    settings: Settings, declaration: dict[str, object], expected: str
) -> None:
    # Without a declaration a plugin used to be province-neutral by default: every province's
    # records reached it. Now it must say which provinces it serves, or that it serves all.
    module = types.ModuleType("undeclared")
    for attribute, value in declaration.items():
        setattr(module, attribute, value)
    module.chelun_source_profiles = hookimpl(registering(NEUTRAL_PROFILE))
    host = PluginHost(settings, extra=[("undeclared", module)], entry_points=False)
    for code in ("62", "32", "11"):
        assert not host.manager(code).has_plugin("undeclared")
        assert "neutral-list" not in profiles_of(host.manager(code))
    assert "undeclared" not in {info.name for info in host.describe()}
    assert_pilot_intact(host)
    failure = failure_of(host, "undeclared")
    assert expected in failure.reason
    assert failure.origin == "registered in code"
    assert "undeclared" in str(failure)


def test_province_neutral_plugin_serves_every_province(settings: Settings) -> None:
    neutral = plugin_module("neutral", None, chelun_source_profiles=registering(NEUTRAL_PROFILE))
    host = PluginHost(settings, extra=[("neutral", neutral)], entry_points=False)
    assert host.failures == []
    info = {info.name: info for info in host.describe()}["neutral"]
    assert info.neutral and info.provinces == ()
    for code in ("32", "51", "52", "62", "11"):
        assert "neutral-list" in profiles_of(host.manager(code))


def test_core_defaults_need_no_declaration(settings: Settings) -> None:
    from chelun.capabilities import default_plugins

    for _name, module in default_plugins():
        assert not hasattr(module, "PROVINCES") and not hasattr(module, "PROVINCE_NEUTRAL")
    host = PluginHost(settings, entry_points=False)
    assert host.failures == []
    assert host.describe()[0].name == DEFAULTS_NAME and host.describe()[0].neutral


def test_unknown_hook_drops_only_the_offending_plugin(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chelun.plugins")
    good = plugin_module("good", ("62",), chelun_source_profiles=registering(GANSU_PROFILE))
    typo = plugin_module("typo", ("62",), chelun_no_such_hook=lambda register: None)
    # The offender registered between two good plugins serving the same province.
    extra = [("good", good), ("typo-plugin", typo), ("neutral", plugin_module("n", None))]
    host = PluginHost(settings, extra=extra, entry_points=False)
    pm = host.manager("62")  # builds: check_pending no longer stops the province
    assert names_in(pm) == {*CORE, "gansu", "good", "neutral"}
    assert "gansu-freight" in profiles_of(pm)
    assert_pilot_intact(host)
    failure = failure_of(host, "typo-plugin")
    assert "chelun_no_such_hook" in failure.reason and "no chelun hook" in failure.reason
    assert [f.name for f in host.failures] == ["typo-plugin"]
    # One warning, naming the plugin, on the chelun.plugins logger.
    warnings = [r for r in caplog.records if r.name == "chelun.plugins"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "typo-plugin" in warnings[0].getMessage()


def test_optional_unknown_hook_is_allowed(settings: Settings) -> None:
    module = plugin_module("opt", None)
    module.chelun_later_hook = hookimpl(optionalhook=True)(lambda register: None)
    host = PluginHost(settings, extra=[("optional", module)], entry_points=False)
    assert host.failures == []
    assert host.manager("62").has_plugin("optional")


def test_unknown_hook_of_other_province_breaks_no_province(settings: Settings) -> None:
    typo = plugin_module("typo", ("32",), chelun_no_such_hook=lambda register: None)
    host = PluginHost(settings, extra=[("typo-plugin", typo)], entry_points=False)
    assert_pilot_intact(host)  # Jiangsu's manager used to raise
    assert "chelun_no_such_hook" in failure_of(host, "typo-plugin").reason


def test_hook_with_wrong_argument_is_refused_by_name(settings: Settings) -> None:
    wrong = plugin_module("wrong", None, chelun_source_profiles=lambda registr: None)
    host = PluginHost(settings, extra=[("wrong-args", wrong)], entry_points=False)
    assert_pilot_intact(host)
    reason = failure_of(host, "wrong-args").reason
    assert "could not be registered" in reason and "registr" in reason
    assert "\n" not in reason


@pytest.mark.parametrize("marker", [{"wrapper": True}, {"hookwrapper": True}])
def test_hook_wrappers_are_refused(settings: Settings, marker: dict[str, bool]) -> None:
    calls: list[str] = []

    class Wrapping:
        PROVINCES = ("32",)

        @hookimpl(**marker)
        def chelun_assign_branch(self, driver, branches):
            calls.append("wrapper")
            return (yield)

    host = PluginHost(settings, extra=[("wrapping", Wrapping())], entry_points=False)
    pm = host.manager("32")
    assert not pm.has_plugin("wrapping")  # it used to register, and never run
    assert names_in(pm) == {*CORE, "jiangsu"}
    decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert calls == []
    reason = failure_of(host, "wrapping").reason
    assert "chelun_assign_branch" in reason and "wrapper" in reason and "plain @hookimpl" in reason


def test_a_wrapper_that_is_no_generator_is_refused_as_a_wrapper(settings: Settings) -> None:
    module = plugin_module("wrapping", None)
    module.chelun_branches = hookimpl(wrapper=True)(lambda province, enterprises, register: None)
    host = PluginHost(settings, extra=[("plain-wrapper", module)], entry_points=False)
    assert "chelun_branches as a hook wrapper" in failure_of(host, "plain-wrapper").reason


def test_a_plugin_that_breaks_while_checked_is_left_out(settings: Settings) -> None:
    class Moody:
        @property
        def PROVINCES(self) -> tuple[str, ...]:  # noqa: N802 - the attribute chelun reads
            raise RuntimeError("no mood for provinces today")

    host = PluginHost(settings, extra=[("moody", Moody())], entry_points=False)
    assert_pilot_intact(host)
    reason = failure_of(host, "moody").reason
    assert reason == "could not be checked: RuntimeError: no mood for provinces today"


def test_plugin_names_and_objects_are_unique(settings: Settings) -> None:
    twice = plugin_module("twice", ("62",))
    extra = [
        ("jiangsu", plugin_module("impostor", ("32",))),  # the in-repo plugin's name
        (DEFAULTS_NAME, plugin_module("defaults", None)),
        ("once", twice),
        ("again", twice),
    ]
    host = PluginHost(settings, extra=extra, entry_points=False)
    assert host.manager("32").get_plugin("jiangsu") is importlib.import_module(
        "chelun.plugins.jiangsu"
    )
    assert host.manager("62").get_plugin("once") is twice
    assert_pilot_intact(host)
    assert "already has this name" in failure_of(host, DEFAULTS_NAME).reason
    assert "same object as plugin 'once'" in failure_of(host, "again").reason
    assert [f.name for f in host.failures] == ["jiangsu", DEFAULTS_NAME, "again"]


def test_contribution_hook_that_raises_names_plugin_and_hook(settings: Settings) -> None:
    original = KeyError("column map")

    def chelun_source_profiles(register):
        raise original

    broken = plugin_module("broken", None, chelun_source_profiles=chelun_source_profiles)
    pm = PluginHost(settings, extra=[("broken-profiles", broken)], entry_points=False).manager("62")
    with pytest.raises(PluginError) as info:
        call_all(pm, "chelun_source_profiles", register=lambda profile: None)
    error = info.value
    assert error.plugin == "broken-profiles" and error.hook == "chelun_source_profiles"
    assert "broken-profiles" in str(error) and "chelun_source_profiles" in str(error)
    assert "KeyError" in str(error)
    assert error.__cause__ is original


def test_call_all_order_and_results(settings: Settings) -> None:
    neutral = plugin_module("neutral", None, chelun_source_profiles=registering(NEUTRAL_PROFILE))
    pm = PluginHost(settings, extra=[("neutral", neutral)], entry_points=False).manager("62")
    results = call_all(pm, "chelun_source_profiles", register=lambda profile: None)
    # Every implementation runs once; core's trylast defaults run after the plugins.
    assert [name for name, _ in results] == ["neutral", DEFAULTS_NAME]


DRIVER = DriverProfile(driver="32-0000042", province="32", home_county="320104", member=True)
BRANCHES = BranchDirectory(
    [
        Branch(code="GRID-A", name="Grid A", kind="grid", province="32"),
        Branch(code="GRID-B", name="Grid B", kind="grid", province="32"),
    ]
)


def assigner(code: str, *, tryfirst: bool = False, calls: list[str] | None = None):
    class Assigner:
        PROVINCE_NEUTRAL = True

        @hookimpl(tryfirst=tryfirst)
        def chelun_assign_branch(self, driver, branches):
            if calls is not None:
                calls.append(code)
            if code == "abstain":
                return None
            assert driver is DRIVER and branches is BRANCHES
            return BranchAssignment(branch=code, reason=f"chosen by {code}")

    return Assigner()


def test_decide_first_non_none_with_plugin_name(bare: Settings) -> None:
    pm = PluginHost(bare, extra=[("a", assigner("GRID-A"))], entry_points=False).manager("32")
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert decision is not None
    assert decision.plugin == "a"
    assert decision.value == BranchAssignment(branch="GRID-A", reason="chosen by GRID-A")


def test_decide_without_any_answer_is_none(bare: Settings) -> None:
    # Neither the plugin nor core's default finds a branch: no mobile or enterprise branch.
    pm = PluginHost(bare, extra=[("x", assigner("abstain"))], entry_points=False).manager("32")
    assert decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES) is None
    assert decide(pm, "chelun_check_phones", province="32", checks=[]) is None


@pytest.mark.parametrize("tryfirst_registered_first", [True, False])
def test_decide_tryfirst_wins(bare: Settings, tryfirst_registered_first: bool) -> None:
    first = ("eager", assigner("GRID-A", tryfirst=True))
    other = ("plain", assigner("GRID-B"))
    extra = [first, other] if tryfirst_registered_first else [other, first]
    pm = PluginHost(bare, extra=extra, entry_points=False).manager("32")
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert decision is not None and decision.plugin == "eager"
    assert decision.value.branch == "GRID-A"
    # The same order as pluggy's own firstresult call.
    assert pm.hook.chelun_assign_branch(driver=DRIVER, branches=BRANCHES) == decision.value


def test_decide_none_lets_next_plugin_decide(bare: Settings) -> None:
    calls: list[str] = []
    extra = [
        ("plain", assigner("GRID-B", calls=calls)),
        ("abstainer", assigner("abstain", tryfirst=True, calls=calls)),
    ]
    pm = PluginHost(bare, extra=extra, entry_points=False).manager("32")
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert decision is not None and decision.plugin == "plain"
    assert decision.value.branch == "GRID-B"
    assert calls == ["abstain", "GRID-B"]


def test_decide_falls_back_to_core_default(bare: Settings) -> None:
    directory = BranchDirectory(
        [
            Branch(code="GRID-A", name="Grid A", kind="grid", province="32"),
            Branch(code="MOB-32", name="Logistics park", kind="mobile", province="32"),
        ]
    )
    calls: list[str] = []
    extra = [("abstainer", assigner("abstain", calls=calls))]
    pm = PluginHost(bare, extra=extra, entry_points=False).manager("32")
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=directory)
    assert calls == ["abstain"]  # the plugin was asked first
    assert decision is not None and decision.plugin == DEFAULTS_NAME
    assert decision.value.branch == "MOB-32"


def test_decide_stops_at_first_answer(bare: Settings) -> None:
    calls: list[str] = []
    extra = [
        ("later", assigner("GRID-B", calls=calls)),
        ("eager", assigner("GRID-A", tryfirst=True, calls=calls)),
    ]
    pm = PluginHost(bare, extra=extra, entry_points=False).manager("32")
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert decision is not None and decision.plugin == "eager"
    assert calls == ["GRID-A"]


def test_decision_hook_that_raises_names_plugin_and_hook(bare: Settings) -> None:
    original = ValueError("no such branch")

    class Broken:
        PROVINCES = ("32",)

        @hookimpl(tryfirst=True)
        def chelun_assign_branch(self, driver, branches):
            raise original

    extra = [("fallback", assigner("GRID-B")), ("broken-branch", Broken())]
    pm = PluginHost(bare, extra=extra, entry_points=False).manager("32")
    with pytest.raises(PluginError) as info:
        decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    error = info.value
    assert error.plugin == "broken-branch" and error.hook == "chelun_assign_branch"
    assert "broken-branch" in str(error) and "chelun_assign_branch" in str(error)
    assert "no such branch" in str(error)
    assert error.__cause__ is original


# --- entry points ---------------------------------------------------------------------------------


def make_distribution(
    root: Path,
    module: str,
    dist: str,
    version: str,
    entry_point: str | None,
    source: str,
) -> None:
    """A distribution installed in ``root``: ``module``, and a dist-info declaring it as the
    entry point ``entry_point`` of the group ``chelun`` (None: no entry points)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    if entry_point is not None:
        (info / "entry_points.txt").write_text(
            f"[chelun]\n{entry_point} = {module}\n", encoding="utf-8"
        )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``install(folder, module, dist, entry_point, source)``: a distribution in
    ``tmp_path/folder``, put on ``sys.path`` ahead of those installed before it. Its modules are
    forgotten afterwards."""
    monkeypatch.chdir(tmp_path)
    modules: list[str] = []

    def install(folder: str, module: str, dist: str, entry_point: str | None, source: str) -> None:
        root = tmp_path / folder
        make_distribution(root, module, dist, "1.0", entry_point, source)
        modules.append(module)
        monkeypatch.delitem(sys.modules, module, raising=False)
        monkeypatch.syspath_prepend(str(root))

    yield install
    for module in modules:
        sys.modules.pop(module, None)


EP_DEMO = """
from chelun import hookimpl
from chelun.roster.models import SourceProfile

PROVINCES = ("52",)


@hookimpl
def chelun_source_profiles(register):
    register(SourceProfile(name="ep-demo", columns={"name": ("姓名",)}))


@hookimpl
def chelun_check_phones(province, checks):
    return []
"""


def test_entry_point_plugin_is_loaded_for_its_province(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_distribution(tmp_path, "chelun_ep_demo", "chelun-ep-demo", "1.2.3", "epdemo", EP_DEMO)
    monkeypatch.delitem(sys.modules, "chelun_ep_demo", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        host = PluginHost(Settings())
        assert host.manager("52").has_plugin("epdemo")
        assert "ep-demo" in profiles_of(host.manager("52"))
        checked = decide(host.manager("52"), "chelun_check_phones", province="52", checks=[])
        assert checked is not None and (checked.value, checked.plugin) == ([], "epdemo")
        for code in ("32", "51", "62"):
            assert not host.manager(code).has_plugin("epdemo")
            assert "ep-demo" not in profiles_of(host.manager(code))

        info = {plugin.name: plugin for plugin in host.describe()}["epdemo"]
        assert info.version == "1.2.3"
        assert info.provinces == ("52",)
        assert info.hooks == ("chelun_check_phones", "chelun_source_profiles")
        assert "chelun_ep_demo" in info.origin

        # The allow-list applies to entry points too.
        assert not PluginHost(Settings(load_plugins="gansu")).manager("52").has_plugin("epdemo")
        assert not PluginHost(Settings(block_plugins="epdemo")).manager("52").has_plugin("epdemo")
    finally:
        sys.modules.pop("chelun_ep_demo", None)


BROKEN = 'raise ImportError("needs frobnicate, which is not installed")\n'


def test_broken_entry_point_disables_only_itself(
    site: Callable[..., None], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chelun.plugins")
    site("broken", "chelun_ep_broken", "chelun-ep-broken", "epbroken", BROKEN)
    site("demo", "chelun_ep_demo2", "chelun-ep-demo2", "epdemo", EP_DEMO)
    host = PluginHost(Settings())  # used to raise, and stop every province
    failure = failure_of(host, "epbroken")
    assert failure.origin == "entry point chelun_ep_broken"
    assert "frobnicate" in failure.reason and "ImportError" in failure.reason
    assert "CHELUN_BLOCK_PLUGINS" in failure.reason
    assert "Traceback" not in failure.reason and "\n" not in failure.reason
    assert "epbroken" not in {info.name for info in host.describe()}
    # The other plugins, from entry points of chelun and of other distributions, still load.
    assert_pilot_intact(host)
    assert host.manager("52").has_plugin("epdemo")
    warnings = [r.getMessage() for r in caplog.records if r.name == "chelun.plugins"]
    assert len(warnings) == 1 and "epbroken" in warnings[0] and "frobnicate" in warnings[0]
    # Blocking the broken plugin silences it.
    blocked = PluginHost(Settings(block_plugins="epbroken"))
    assert blocked.failures == []


def test_refused_entry_point_declaration_names_the_entry_point(site: Callable[..., None]) -> None:
    site("bare", "chelun_ep_bare", "chelun-ep-bare", "epbare", EP_DEMO.replace("PROVINCES", "X"))
    host = PluginHost(Settings())
    # Without PROVINCES it used to be province-neutral: in every province's manager.
    assert not any(host.manager(code).has_plugin("epbare") for code in ("32", "51", "52", "62"))
    assert_pilot_intact(host)
    failure = failure_of(host, "epbare")
    assert failure.origin == "entry point chelun_ep_bare"
    assert "declares no provinces" in failure.reason and "PROVINCE_NEUTRAL = True" in failure.reason


NEUTRAL_ASSIGNER = """
from chelun import hookimpl
from chelun.roster.models import BranchAssignment

PROVINCE_NEUTRAL = True


@hookimpl
def chelun_assign_branch(driver, branches):
    return BranchAssignment(branch="GRID-A", reason=__name__)
"""


def test_entry_points_register_in_the_order_of_their_names(site: Callable[..., None]) -> None:
    # sys.path finds bravo's distribution before alpha's; the order is the names' all the same.
    site("a", "chelun_ep_alpha", "chelun-ep-alpha", "alpha", NEUTRAL_ASSIGNER)
    site("b", "chelun_ep_bravo", "chelun-ep-bravo", "bravo", NEUTRAL_ASSIGNER)
    host = PluginHost(Settings())
    assert [info.name for info in host.describe()] == [
        *CORE_ORDER,
        "alpha",
        "bravo",
        *sorted(PILOT),
    ]
    pm = host.manager("32")
    assert [name for name, _ in pm.list_name_plugin()] == [
        *CORE_ORDER,
        "alpha",
        "bravo",
        "jiangsu",
    ]
    # Registered later, asked first: between two plugins with the same marks, the name that
    # sorts last decides.
    asked = call_all(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert [name for name, _ in asked] == ["jiangsu", "bravo", "alpha", DEFAULTS_NAME]
    decision = decide(pm, "chelun_assign_branch", driver=DRIVER, branches=BRANCHES)
    assert decision is not None and decision.plugin == "bravo"  # jiangsu: not Zhenjiang


def test_a_distribution_seen_twice_loads_once(site: Callable[..., None]) -> None:
    # An out-of-date copy of a distribution's metadata (an .egg-info left in the working folder,
    # say) comes first on sys.path and declares no entry points; the installed copy does.
    site("installed", "chelun_ep_twice", "chelun-ep-twice", "eptwice", EP_DEMO)
    site("copy", "chelun_ep_twice", "chelun_ep.twice", "eptwice", EP_DEMO)  # the same, again
    site("stale", "chelun_ep_twice", "chelun-ep-twice", None, EP_DEMO)  # first on sys.path
    host = PluginHost(Settings())
    assert host.manager("52").has_plugin("eptwice")
    assert [info.name for info in host.describe()].count("eptwice") == 1
    assert host.failures == []


def test_two_distributions_claiming_one_name(site: Callable[..., None]) -> None:
    site("second", "chelun_ep_second", "chelun-ep-second", "claimed", EP_DEMO)
    site("first", "chelun_ep_first", "chelun-ep-first", "claimed", EP_DEMO)
    host = PluginHost(Settings())
    loaded = {info.name: info for info in host.describe()}["claimed"]
    assert loaded.origin == "entry point chelun_ep_first"  # first on sys.path
    failure = failure_of(host, "claimed")
    assert "chelun_ep_second" in failure.origin
    assert "chelun-ep-first already provides a plugin of this name" in failure.reason
    assert host.manager("52").get_plugin("claimed") is sys.modules["chelun_ep_first"]
    assert_pilot_intact(host)


# --- the command line -----------------------------------------------------------------------------


def test_cli_plugins_list_json(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert {*CORE, *PILOT} <= set(listed)
    defaults = listed[DEFAULTS_NAME]
    assert defaults["provinces"] == [] and "chelun_source_profiles" in defaults["hooks"]
    assert defaults["origin"] == "core" and defaults["version"]
    assert {entry["status"] for entry in listed.values()} == {"loaded"}
    assert all(entry["error"] is None for entry in listed.values())
    for name, code in PILOT.items():
        assert listed[name]["provinces"] == [code]
        assert listed[name]["origin"] == f"entry point chelun.plugins.{name}"
        module = importlib.import_module(f"chelun.plugins.{name}")
        marked = sorted(
            attr for attr in dir(module) if hasattr(getattr(module, attr), "chelun_impl")
        )
        assert listed[name]["hooks"] == marked


def test_cli_plugins_list_honours_block_list(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHELUN_BLOCK_PLUGINS", "sichuan")
    result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert "sichuan" not in {entry["name"] for entry in json.loads(result.stdout)}


def test_cli_plugins_list_table(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    for name in (DEFAULTS_NAME, *PILOT):
        assert name in result.stdout


def test_cli_plugins_list_shows_failed_plugins(site: Callable[..., None]) -> None:
    site("broken", "chelun_ep_broken3", "chelun-ep-broken3", "epbroken", BROKEN)
    result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert isinstance(listed, list)
    by_name = {entry["name"]: entry for entry in listed}
    assert {*CORE, *PILOT, "epbroken"} <= set(by_name)
    assert all(by_name[name]["status"] == "loaded" for name in PILOT)
    failed = by_name["epbroken"]
    assert failed["status"] == "failed"
    assert failed["origin"] == "entry point chelun_ep_broken3"
    assert "frobnicate" in failed["error"] and failed["provinces"] == [] and failed["hooks"] == []
    # And a one-line warning on stderr.
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "epbroken" in warnings[0] and "frobnicate" in warnings[0]

    table = CliRunner().invoke(app, ["plugins", "list"])
    assert table.exit_code == 0, table.output
    assert "epbroken" in table.stdout and "failed" in table.stdout
    assert "frobnicate" in table.stdout
    assert sum(line.startswith("warning:") for line in table.stderr.splitlines()) == 1
