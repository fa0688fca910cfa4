"""Plugin loading: one manager per province, allow/block lists, entry points, hook errors."""

from __future__ import annotations

import importlib
import json
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chelun import hookimpl
from chelun.cli import app
from chelun.plugin_manager import (
    PluginError,
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
PILOT = {"jiangsu": "32", "sichuan": "51", "guizhou": "52", "gansu": "62"}
GANSU_PROFILE = SourceProfile(
    name="gansu-freight", columns={"name": ("姓名",)}, description="Gansu freight platform"
)
NEUTRAL_PROFILE = SourceProfile(name="neutral-list", columns={"name": ("姓名",)})


def plugin_module(
    name: str, provinces: tuple[str, ...] | None = None, **hooks: Callable
) -> types.ModuleType:
    """A plugin as a module object: ``hooks`` become its hook implementations."""
    module = types.ModuleType(name)
    if provinces is not None:
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
    neutral = plugin_module("neutral", chelun_source_profiles=registering(NEUTRAL_PROFILE))
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
        assert names_in(host.manager(code)) == {DEFAULTS_NAME, name}
    assert names_in(host.manager("11")) == {DEFAULTS_NAME}


def test_allow_list_loads_only_named_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    host = PluginHost(Settings(load_plugins="gansu"), entry_points=False)
    assert names_in(host.manager("62")) == {DEFAULTS_NAME, "gansu"}
    for code in ("32", "51", "52"):
        assert names_in(host.manager(code)) == {DEFAULTS_NAME}
    assert [info.name for info in host.describe()] == [DEFAULTS_NAME, "gansu"]


def test_allow_list_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CHELUN_LOAD_PLUGINS", " sichuan , guizhou ")
    host = PluginHost(Settings(), entry_points=False)
    assert [info.name for info in host.describe()] == [DEFAULTS_NAME, "sichuan", "guizhou"]


def test_block_list_removes_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    host = PluginHost(Settings(block_plugins="jiangsu"), entry_points=False)
    assert names_in(host.manager("32")) == {DEFAULTS_NAME}
    assert names_in(host.manager("62")) == {DEFAULTS_NAME, "gansu"}
    assert "jiangsu" not in {info.name for info in host.describe()}

    both = PluginHost(Settings(block_plugins="jiangsu, gansu"), entry_points=False)
    assert [info.name for info in both.describe()] == [DEFAULTS_NAME, "sichuan", "guizhou"]


@pytest.fixture
def bare(settings: Settings) -> Settings:
    """Settings loading no plugin but core's defaults (and those registered in code)."""
    return Settings(load_plugins="")


def test_empty_allow_list_loads_only_core(bare: Settings) -> None:
    host = PluginHost(bare, entry_points=False)
    assert [info.name for info in host.describe()] == [DEFAULTS_NAME]
    assert names_in(host.manager("32")) == {DEFAULTS_NAME}


# --- validation and hook errors -------------------------------------------------------------------


def test_unknown_hook_is_named_by_check_pending(settings: Settings) -> None:
    typo = plugin_module("typo", chelun_no_such_hook=lambda register: None)
    host = PluginHost(settings, extra=[("typo-plugin", typo)], entry_points=False)
    with pytest.raises(PluginError, match="typo-plugin") as info:
        host.manager("62")
    assert info.value.plugin == "typo-plugin"
    assert "chelun_no_such_hook" in str(info.value)


def test_unknown_hook_of_other_province_does_not_break_this_one(settings: Settings) -> None:
    typo = plugin_module("typo", ("32",), chelun_no_such_hook=lambda register: None)
    host = PluginHost(settings, extra=[("typo-plugin", typo)], entry_points=False)
    assert names_in(host.manager("62")) == {DEFAULTS_NAME, "gansu"}
    with pytest.raises(PluginError, match="typo-plugin"):
        host.manager("32")


def test_hook_with_wrong_argument_is_named(settings: Settings) -> None:
    wrong = plugin_module("wrong", chelun_source_profiles=lambda registr: None)
    host = PluginHost(settings, extra=[("wrong-args", wrong)], entry_points=False)
    with pytest.raises(PluginError, match="wrong-args"):
        host.manager("62")


def test_contribution_hook_that_raises_names_plugin_and_hook(settings: Settings) -> None:
    original = KeyError("column map")

    def chelun_source_profiles(register):
        raise original

    broken = plugin_module("broken", chelun_source_profiles=chelun_source_profiles)
    pm = PluginHost(settings, extra=[("broken-profiles", broken)], entry_points=False).manager("62")
    with pytest.raises(PluginError) as info:
        call_all(pm, "chelun_source_profiles", register=lambda profile: None)
    error = info.value
    assert error.plugin == "broken-profiles" and error.hook == "chelun_source_profiles"
    assert "broken-profiles" in str(error) and "chelun_source_profiles" in str(error)
    assert "KeyError" in str(error)
    assert error.__cause__ is original


def test_call_all_order_and_results(settings: Settings) -> None:
    neutral = plugin_module("neutral", chelun_source_profiles=registering(NEUTRAL_PROFILE))
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
    root: Path, module: str, dist: str, version: str, entry_point: str, source: str
) -> None:
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[chelun]\n{entry_point} = {module}\n", encoding="utf-8"
    )


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


def test_broken_entry_point_names_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = 'raise ImportError("needs frobnicate, which is not installed")\n'
    make_distribution(tmp_path, "chelun_ep_broken", "chelun-ep-broken", "0.1", "epbroken", source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="epbroken") as info:
        PluginHost(Settings())
    assert info.value.plugin == "epbroken"
    assert "frobnicate" in str(info.value)
    assert isinstance(info.value.__cause__, ImportError)
    # Blocking the broken plugin lets the rest load.
    host = PluginHost(Settings(block_plugins="epbroken"))
    assert "epbroken" not in {plugin.name for plugin in host.describe()}


# --- the command line -----------------------------------------------------------------------------


def test_cli_plugins_list_json(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["plugins", "list", "--json"])
    assert result.exit_code == 0, result.output
    listed = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert {DEFAULTS_NAME, *PILOT} <= set(listed)
    defaults = listed[DEFAULTS_NAME]
    assert defaults["provinces"] == [] and "chelun_source_profiles" in defaults["hooks"]
    assert defaults["origin"] == "core" and defaults["version"]
    for name, code in PILOT.items():
        assert listed[name]["provinces"] == [code]
        assert listed[name]["origin"] == "built-in"
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
