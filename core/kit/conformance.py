"""The conformance checks of a province plugin: what ``chelun plugins check`` prints and what
``chelun.testing.ConformanceSuite`` asserts.

A plugin is checked in a manager of its own with core's defaults, for one province, on the
sample data of ``chelun.kit.samples``:

- ``loads``: it loads (imports, declares its provinces, implements only chelun hooks, no
  wrappers) and serves the province checked;
- ``hook API``: the hook API versions it declares (``CHELUN_HOOK_API``) include this chelun's;
- ``signatures``: each implementation's annotated arguments and return fit its hook's
  specification;
- ``return types``: each hook, called with the samples, answers what its specification allows
  (one decision per item of a batch, models that validate, registered items of the right kind),
  without raising and within the time limit;
- ``deterministic``: each decision hook that must be pure answers the same inputs the same twice;
- ``province isolation``: answers name the province's own drivers, areas and sites only, and
  routing its sample grievances through the grievance service leaves another province's stored
  data as it was;
- ``personal data``: nothing logged or printed while its hooks ran holds the samples' names, ID
  numbers, phones or grievance texts, and no answer repeats them.

Hooks that call outside systems (phone checks, home visits, safety records) are not called: they
are checked by signature, and their authors test them against a server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import io
import json
import logging
import os
import re
import sys
import tomllib
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pluggy

from chelun.kit.samples import Samples
from chelun.plugin_manager import (
    ENTRY_POINT_GROUP,
    HOOK_API_ATTRIBUTE,
    HOOK_API_VERSION,
    PluginFailure,
    PluginHost,
    PluginMisbehaved,
    PluginSettings,
    call_one,
    hook_annotations,
    revalidated,
    type_problem,
)
from chelun.settings import Settings

#: The checks, in the order they run and are reported.
CHECKS = (
    "loads",
    "hook API",
    "signatures",
    "return types",
    "deterministic",
    "province isolation",
    "personal data",
)
#: Hooks that call outside systems: checked by signature only, never called by the checks.
OUTSIDE_HOOKS = ("chelun_check_phones", "chelun_home_visits", "chelun_safety_records")
#: Hooks that answer with an object of their own (a client, a feed): not compared for determinism.
OBJECT_HOOKS = ("chelun_grievance_platform", "chelun_insurer_client")
#: Batch hooks and the argument holding the batch: their answer has one decision per item.
BATCHES = {
    "chelun_classify_grievances": "grievances",
    "chelun_route_grievances": "grievances",
    "chelun_grievance_deliveries": "notices",
    "chelun_check_claims": "claims",
    "chelun_assess_claims": "claims",
    "chelun_safety_records": "nominees",
    "chelun_check_nominations": "nominations",
    "chelun_score_nominations": "nominations",
    "chelun_select_for_visits": "candidates",
    "chelun_assign_visits": "visits",
}
#: The province whose stored data the isolation check watches (another when checking it).
WATCHED = ("11", "12")
#: Seconds a hook has to answer during the checks unless told otherwise.
CHECK_TIMEOUT = 60.0
_DRIVER_CODE = r"\b(\d{2})-\d{7}\b"


class TargetError(ValueError):
    """The plugin to check cannot be found or loaded as named; the message says what to give."""


@dataclass(frozen=True)
class PluginTarget:
    """A plugin to check or test: an installed entry point (``plugin`` None: loaded by the host,
    as in production), or a plugin loaded from a folder or a file."""

    name: str
    origin: str
    plugin: object | None = None

    def host(
        self,
        *,
        report: Callable[[PluginFailure], None] = lambda failure: None,
        plugin_settings: PluginSettings | None = None,
    ) -> PluginHost:
        """A host holding core's defaults and this plugin, and no other plugin."""
        if self.plugin is None:
            settings = Settings(load_plugins=self.name, block_plugins="")
            return PluginHost(settings, report=report, plugin_settings=plugin_settings)
        return PluginHost(
            Settings(load_plugins="", block_plugins=""),
            extra=[(self.name, self.plugin)],
            entry_points=False,
            report=report,
            plugin_settings=plugin_settings,
        )


def find_plugin(reference: str, *, root: Path | None = None) -> PluginTarget:
    """The plugin ``reference`` names: an installed plugin's entry-point name, a folder with a
    ``pyproject.toml`` declaring one ``chelun`` entry point (its ``src`` folder, if any, goes on
    ``sys.path``), a plugin package folder, or a ``.py`` file. With ``root`` (a project folder),
    a name that is not installed is looked up in ``root``'s ``pyproject.toml``."""
    path = Path(reference)
    if reference.endswith(".py") or os.sep in reference or "/" in reference or path.exists():
        if not path.exists():
            raise TargetError(f"{reference} does not exist")
        return _from_path(path.resolve())
    for dist in importlib.metadata.distributions():
        for entry_point in dist.entry_points.select(group=ENTRY_POINT_GROUP, name=reference):
            return PluginTarget(reference, f"entry point {entry_point.value}")
    if root is not None and (root / "pyproject.toml").is_file():
        declared = _declared_entry_points(root)
        if reference in declared:
            return _from_project(root, reference, declared[reference])
    raise TargetError(
        f"no plugin {reference!r}: give an installed plugin's name (chelun plugins list), a "
        "folder with a pyproject.toml declaring it, or a .py file"
    )


def _declared_entry_points(folder: Path) -> dict[str, str]:
    try:
        project = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TargetError(f"{folder / 'pyproject.toml'} cannot be read: {exc}") from None
    declared = project.get("project", {}).get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return {str(name): str(value) for name, value in declared.items()}


def _from_path(path: Path) -> PluginTarget:
    if path.is_dir() and (path / "pyproject.toml").is_file():
        declared = _declared_entry_points(path)
        if len(declared) != 1:
            names = ", ".join(sorted(declared)) or "none"
            raise TargetError(
                f"{path / 'pyproject.toml'} declares {len(declared)} plugins in "
                f"[project.entry-points.{ENTRY_POINT_GROUP}] ({names}): check one by its name "
                "once installed"
            )
        ((name, value),) = declared.items()
        return _from_project(path, name, value)
    if path.is_dir() and (path / "__init__.py").is_file():
        _on_path(path.parent)
        return PluginTarget(path.name, f"package {path}", _imported(path.name, path))
    if path.is_file() and path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"chelun_checked_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise TargetError(f"{path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise TargetError(f"{path} cannot be imported: {type(exc).__name__}: {exc}") from None
        return PluginTarget(path.stem, f"file {path}", module)
    raise TargetError(
        f"{path} is neither a folder with a pyproject.toml, a package folder nor a .py file"
    )


def _from_project(folder: Path, name: str, value: str) -> PluginTarget:
    _on_path(folder / "src" if (folder / "src").is_dir() else folder)
    entry_point = importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)
    try:
        plugin = entry_point.load()
    except Exception as exc:
        raise TargetError(
            f"entry point {name} = {value!r} of {folder} cannot be loaded: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return PluginTarget(name, f"folder {folder.name}, entry point {value}", plugin)


def _on_path(folder: Path) -> None:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def _imported(module: str, path: Path) -> types.ModuleType:
    try:
        return importlib.import_module(module)
    except Exception as exc:
        raise TargetError(f"{path} cannot be imported: {type(exc).__name__}: {exc}") from None


# --- the report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One result of one check: ``fail`` (a problem), ``note`` (worth knowing, not a failure)
    or ``pass`` (the check's summary when nothing failed)."""

    check: str
    level: Literal["pass", "fail", "note"]
    message: str
    hook: str | None = None

    def __str__(self) -> str:
        return f"{self.hook}: {self.message}" if self.hook else self.message


@dataclass
class ConformanceReport:
    """The findings of the checks of one plugin for one province."""

    plugin: str
    origin: str
    province: str
    version: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(finding.level == "fail" for finding in self.findings)

    def of(self, check: str, level: str | None = None) -> list[Finding]:
        return [
            f for f in self.findings if f.check == check and (level is None or f.level == level)
        ]

    def failed_checks(self) -> list[str]:
        return [check for check in CHECKS if self.of(check, "fail")]

    def text(self, checks: tuple[str, ...] = CHECKS) -> str:
        """The report as a reader sees it: a line per check, its problems and notes below."""
        from chelun.identity.divisions import divisions

        name = divisions().province_names.get(self.province, "")
        version = f" {self.version}" if self.version else ""
        lines = [
            f"plugin {self.plugin!r}{version} ({self.origin}), province {self.province}"
            + (f" ({name})" if name else ""),
            "",
        ]
        ran = [check for check in checks if self.of(check)]
        for check in ran:
            failed = self.of(check, "fail")
            summary = self.of(check, "pass")
            if failed:
                lines.append(f"FAIL  {check:<19} {len(failed)} problem(s)")
                lines.extend(f"      {finding}" for finding in failed)
            else:
                lines.append(f"PASS  {check:<19} {summary[0] if summary else 'nothing to check'}")
            lines.extend(f"      note: {finding}" for finding in self.of(check, "note"))
        skipped = [check for check in checks if check not in ran]
        if skipped:
            lines.append(f"not run: {', '.join(skipped)} (the plugin did not load)")
        failed_checks = [check for check in ran if self.of(check, "fail")]
        notes = sum(1 for f in self.findings if f.level == "note" and f.check in checks)
        lines.append("")
        if failed_checks:
            lines.append(
                f"result: FAILED {len(failed_checks)} of {len(ran)} checks "
                f"({', '.join(failed_checks)})"
            )
        else:
            lines.append(
                f"result: passed {len(ran)} checks" + (f", {notes} note(s)" if notes else "")
            )
        return "\n".join(lines)


# --- running the checks --------------------------------------------------------------------------


def run_conformance(
    target: PluginTarget,
    province: str | None = None,
    *,
    workdir: Path,
    timeout: float = CHECK_TIMEOUT,
) -> ConformanceReport:
    """Every check of ``target`` for ``province`` (by default the first it serves; 11 for a
    province-neutral plugin). ``workdir``: an empty folder for the checks' database and home;
    the ``CHELUN_`` variables point there while the checks run, so a plugin that opens chelun's
    database opens that one."""
    workdir.mkdir(parents=True, exist_ok=True)
    refused: list[PluginFailure] = []
    with _private_environment(workdir):
        host = target.host(
            report=refused.append,
            plugin_settings=PluginSettings(plugin_timeout=timeout, plugin_failure="fail"),
        )
        info = next((info for info in host.describe() if info.name == target.name), None)
        report = ConformanceReport(target.name, target.origin, province or "")
        if info is None:
            reasons = [f.reason for f in refused if f.name == target.name] or ["it did not load"]
            report.province = report.province or "-"
            for reason in reasons:
                report.findings.append(Finding("loads", "fail", reason))
            return report
        report.version = info.version
        served = info.provinces
        report.province = province or (served[0] if served else WATCHED[0])
        if served and report.province not in served:
            report.findings.append(
                Finding(
                    "loads",
                    "fail",
                    f"serves province {', '.join(served)}, not {report.province}: its hooks "
                    f"are never called for {report.province}",
                )
            )
            return report
        where = f"serves province {', '.join(served)}" if served else "province-neutral"
        report.findings.append(
            Finding("loads", "pass", f"{where}; implements {', '.join(info.hooks) or 'no hook'}")
        )
        _hook_api(report, info.hook_api)
        pm = host.manager(report.province)
        _Checks(report, pm, pm.get_plugin(target.name), workdir).run()
    return report


@contextlib.contextmanager
def _private_environment(workdir: Path) -> Iterator[None]:
    """The checks' own home and database in ``workdir``; the environment restored after."""
    saved = dict(os.environ)
    os.environ["CHELUN_HOME"] = str(workdir / "home")
    os.environ["CHELUN_DATABASE_URL"] = f"sqlite:///{(workdir / 'chelun.db').resolve()}"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _hook_api(report: ConformanceReport, declared: str | None) -> None:
    if declared is None:
        report.findings.append(
            Finding(
                "hook API",
                "pass",
                f"declares none, so it is taken to support this chelun's ({HOOK_API_VERSION})",
            )
        )
        report.findings.append(
            Finding(
                "hook API",
                "note",
                f'declare {HOOK_API_ATTRIBUTE} = ">={HOOK_API_VERSION},<{HOOK_API_VERSION + 1}" '
                "so that a chelun with another hook API refuses the plugin with a clear message "
                "instead of calling it",
            )
        )
        return
    report.findings.append(
        Finding(
            "hook API",
            "pass",
            f"supports {declared}; this chelun's hook API is {HOOK_API_VERSION}",
        )
    )


class _Checks:
    """The checks that call the plugin, on one province's manager."""

    def __init__(
        self, report: ConformanceReport, pm: pluggy.PluginManager, plugin: object, workdir: Path
    ) -> None:
        self.report = report
        self.pm = pm
        self.plugin = plugin
        self.workdir = workdir
        self.province = report.province
        self.samples = Samples(self.province)
        self.personal = self.samples.personal
        callers = pm.get_hookcallers(plugin) or []
        self.impls = {
            caller.name: impl
            for caller in callers
            for impl in caller.get_hookimpls()
            if impl.plugin is plugin
        }

    def add(
        self,
        check: str,
        level: Literal["pass", "fail", "note"],
        message: str,
        hook: str | None = None,
    ) -> None:
        finding = Finding(check, level, self.personal.redacted(message), hook)
        if finding not in self.report.findings:  # a second call finds the same again
            self.report.findings.append(finding)

    def run(self) -> None:
        from chelun.storage.db import Database

        self.signatures()
        # Another province's data is stored before the plugin is first called, and compared
        # after its last call: whatever hook wrote to it, and however.
        other = WATCHED[0] if self.province != WATCHED[0] else WATCHED[1]
        database = Database(f"sqlite:///{(self.workdir / 'chelun.db').resolve()}")
        try:
            before = self.store_other(database, other)
            answered, decided = self.calls()
            routed = self.route(database)
            if snapshot(database, other) != before:
                self.add(
                    "province isolation",
                    "fail",
                    f"province {other}'s stored data changed while the plugin's hooks ran for "
                    f"province {self.province}",
                )
        finally:
            database.dispose()
        self.add(
            "return types",
            "pass",
            f"{answered} hook(s) answered the sample inputs with what their specifications allow"
            if answered
            else "no hook of the plugin is called with sample inputs",
        )
        self.add(
            "deterministic",
            "pass",
            f"{decided} decision hook(s) answered the same inputs the same twice"
            if decided
            else "no pure decision hook to call twice",
        )
        self.add(
            "province isolation",
            "pass",
            f"answers name province {self.province}'s drivers, areas and sites only; routing its "
            f"sample grievances ({routed} by the plugin) left province {other}'s stored data "
            "unchanged",
        )
        self.add(
            "personal data",
            "pass",
            "nothing logged or printed while its hooks ran holds the samples' personal data, "
            "and no answer repeats it",
        )

    # --- signatures ----------------------------------------------------------------------------

    def signatures(self) -> None:
        compared = 0
        for hook, impl in sorted(self.impls.items()):
            spec = hook_annotations(self.pm, hook)
            if spec is None:
                self.add(
                    "signatures",
                    "note",
                    "no hook of this chelun (marked optionalhook): never called",
                    hook,
                )
                continue
            try:
                own = typing.get_type_hints(impl.function)
            except Exception as exc:  # an annotation naming what the module never imports
                self.add(
                    "signatures",
                    "note",
                    f"its annotations cannot be resolved ({type(exc).__name__}: {exc}), so they "
                    "were not compared",
                    hook,
                )
                continue
            compared += 1
            for argument in impl.argnames:
                if argument in own and fits(spec[argument], own[argument]) is False:
                    self.add(
                        "signatures",
                        "fail",
                        f"argument {argument} is annotated {_named(own[argument])}, but the hook "
                        f"passes {_named(spec[argument])}",
                        hook,
                    )
            if "return" in own and fits(own["return"], spec["return"]) is False:
                self.add(
                    "signatures",
                    "fail",
                    f"returns {_named(own['return'])}, but the hook expects "
                    f"{_named(spec['return'])}",
                    hook,
                )
        self.add(
            "signatures",
            "pass",
            f"{compared} implementation(s) fit their hooks' specifications",
        )

    # --- calling the hooks ---------------------------------------------------------------------

    def calls(self) -> tuple[int, int]:
        """Call each hook with the samples (twice for pure decision hooks); how many answered,
        and how many decision hooks were compared."""
        answered = decided = 0
        for hook in sorted(self.impls):
            if hook_annotations(self.pm, hook) is None:
                continue
            if hook in OUTSIDE_HOOKS:
                self.add(
                    "return types",
                    "note",
                    "not called: it calls outside systems; test it against a server on "
                    "127.0.0.1 (docs/plugins.md)",
                    hook,
                )
                continue
            first = self.call(hook, Samples(self.province))
            if first is None:
                continue
            answered += 1
            firstresult = getattr(self.pm.hook, hook).spec.opts.get("firstresult")
            if not firstresult or hook in OBJECT_HOOKS:
                continue
            second = self.call(hook, Samples(self.province))
            if second is None:
                continue
            decided += 1
            if first[0] != second[0]:
                self.add(
                    "deterministic",
                    "fail",
                    "answered the same inputs differently on a second call; a decision hook "
                    "must be pure: no clock, no randomness, no state kept between calls",
                    hook,
                )
        return answered, decided

    def call(self, hook: str, samples: Samples) -> tuple[Any, list[Any]] | None:
        """One call of the plugin's implementation of ``hook``: its answer and what it
        registered, each checked; None when it misbehaved (the failure is recorded)."""
        registered: list[Any] = []
        arguments = samples.arguments(hook, register=registered.append)
        with captured() as output:
            try:
                answer = call_one(self.pm, self.report.plugin, hook, **arguments)
            except PluginMisbehaved as error:
                self.add("return types", "fail", str(error).split(": ", 1)[-1], hook)
                answer = error
        self.logged(hook, output.getvalue())
        if isinstance(answer, PluginMisbehaved):
            return None
        try:
            self.answers(hook, arguments, answer, registered)
        finally:
            close = getattr(answer, "close", None)
            if hook in OBJECT_HOOKS and callable(close):
                close()
        return answer, registered

    def answers(self, hook: str, arguments: dict[str, Any], answer: Any, registered: list) -> None:
        for problem in revalidated(answer):
            self.add("return types", "fail", f"returned {problem}", hook)
        batch = BATCHES.get(hook)
        if batch and isinstance(answer, list | tuple) and len(answer) != len(arguments[batch]):
            self.add(
                "return types",
                "fail",
                f"returned {len(answer)} decisions for {len(arguments[batch])} items: one per "
                "item, None for those it leaves to the next implementation",
                hook,
            )
        kind = _registered_kind(self.pm, hook)
        for item in registered:
            problem = type_problem(item, kind) if kind is not None else None
            if problem is not None:
                self.add("return types", "fail", f"registered {problem}", hook)
        for problem in revalidated(registered):
            self.add("return types", "fail", f"registered {problem}", hook)
        text = _dumped([answer, registered])
        for problem in foreign(text, answer, registered, self.samples, hook, arguments):
            self.add("province isolation", "fail", problem, hook)
        kinds = self.personal.found_in(text)
        if kinds:
            self.add(
                "personal data",
                "fail",
                f"its answer repeats the input's {', '.join(kinds)}: reasons and messages "
                "must never quote personal data or a grievance's text",
                hook,
            )

    def logged(self, hook: str, output: str) -> None:
        kinds = self.personal.found_in(output)
        if kinds:
            self.add(
                "personal data",
                "fail",
                f"logged or printed the input's {', '.join(kinds)}: log codes and counts, never "
                "names, ID numbers, phones or a grievance's text",
                hook,
            )

    # --- stored data ---------------------------------------------------------------------------

    def store_other(self, database: Any, other: str) -> dict[str, list[tuple]]:
        """A fresh database holding another province's grievances, routed by core; that
        province's stored rows."""
        from chelun.grievance.service import GrievanceService

        database.ensure_schema()
        core_only = PluginHost(Settings(load_plugins=""), entry_points=False)
        theirs = GrievanceService(database, core_only.manager(other), other, actor="user:check")
        theirs.import_file(Samples(other).write_grievances(self.workdir / f"{other}.csv"))
        theirs.route_pending()
        return snapshot(database, other)

    def route(self, database: Any) -> int:
        """Route the samples' grievances through the grievance service with the plugin; how
        many the plugin routed."""
        from chelun.grievance.service import GrievanceService
        from chelun.storage.tables import Grievance

        ours = GrievanceService(database, self.pm, self.province, actor="user:check")
        ours.import_file(self.samples.write_grievances(self.workdir / f"{self.province}.csv"))
        with captured() as output:
            try:
                ours.route_pending()
            except Exception as exc:
                self.add(
                    "province isolation",
                    "fail",
                    "routing the province's sample grievances through the grievance service "
                    f"failed: {type(exc).__name__}: {exc}",
                )
                return 0
        self.logged("grievance routing", output.getvalue())
        with database.engine.connect() as connection:
            return len(
                connection.execute(
                    Grievance.__table__.select().where(
                        Grievance.province == self.province,
                        Grievance.routed_by == self.report.plugin,
                    )
                ).all()
            )


def snapshot(database: Any, province: str) -> dict[str, list[tuple]]:
    """Every stored row of a province, table by table (the tables with a ``province``)."""
    from chelun.storage.tables import Base

    rows = {}
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if "province" in table.c:
                query = table.select().where(table.c.province == province)
                rows[table.name] = sorted(
                    tuple(str(value) for value in row) for row in connection.execute(query)
                )
    return rows


def foreign(
    text: str,
    answer: Any,
    registered: list[Any],
    samples: Samples,
    hook: str,
    arguments: dict[str, Any],
) -> list[str]:
    """What an answer names of another province: drivers, provinces, areas, sites, branches."""
    from chelun.claims.models import Product
    from chelun.grievance.models import Route
    from chelun.roster.models import Branch, BranchAssignment, Pairing

    province = samples.province
    problems = []
    others = sorted({code for code in re.findall(_DRIVER_CODE, text) if code != province})
    if others:
        problems.append(f"names drivers of province {', '.join(others)}")
    items = [*(answer if isinstance(answer, list | tuple) else [answer]), *registered]
    for item in items:
        if isinstance(item, Route) and not (
            item.area == "national" or item.area.startswith(province)
        ):
            problems.append(f"routes to area {item.area}, outside province {province}")
        elif isinstance(item, Branch) and item.province != province:
            problems.append(f"registers branch {item.code} for province {item.province}")
        elif isinstance(item, Product) and (
            item.province != province
            or any(not site.county.startswith(province) for site in item.sites)
        ):
            problems.append(f"offers product {item.code} of province {item.province} or its sites")
        elif isinstance(item, BranchAssignment) and item.branch not in arguments.get(
            "branches", ()
        ):
            problems.append(f"assigns branch {item.branch}, which the province did not register")
        elif isinstance(item, Pairing):
            known = {d.driver for d in [*arguments["members"], *arguments["drivers"]]}
            if not {item.member, item.driver} <= known:
                problems.append("pairs drivers it was not given")
    return sorted(set(problems))


def _dumped(value: Any) -> str:
    """An answer as text, for scanning: models by their fields, the rest by ``repr``."""

    def default(item: Any) -> Any:
        dump = getattr(item, "model_dump", None)
        return dump(mode="json") if callable(dump) else repr(item)

    return json.dumps(value, default=default, ensure_ascii=False)


def _registered_kind(pm: pluggy.PluginManager, hook: str) -> Any:
    """What a contribution hook's ``register`` takes: ``X`` of ``Callable[[X], None]``."""
    hints = hook_annotations(pm, hook) or {}
    register = hints.get("register")
    arguments = typing.get_args(register) if register is not None else ()
    return arguments[0][0] if arguments and arguments[0] else None


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """Everything logged (every logger that propagates, every level) and printed meanwhile."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- annotations ---------------------------------------------------------------------------------


def fits(narrow: Any, wide: Any) -> bool | None:
    """Whether every value of type ``narrow`` is a ``wide``: True, False, or None when it
    cannot be told (a construct not judged)."""
    if wide is Any or wide is object or narrow == wide:
        return True
    if narrow is Any:
        return None
    narrow_options = _union(narrow)
    if narrow_options is not None:
        return _all([fits(option, wide) for option in narrow_options])
    wide_options = _union(wide)
    if wide_options is not None:
        results = [fits(narrow, option) for option in wide_options]
        return True if True in results else (None if None in results else False)
    if narrow is type(None) or wide is type(None) or narrow is None or wide is None:
        return _none(narrow) == _none(wide)
    narrow_origin = typing.get_origin(narrow) or narrow
    wide_origin = typing.get_origin(wide) or wide
    if not (isinstance(narrow_origin, type) and isinstance(wide_origin, type)):
        return None
    if not issubclass(narrow_origin, wide_origin):
        return None if getattr(wide_origin, "_is_protocol", False) else False
    narrow_arguments, wide_arguments = typing.get_args(narrow), typing.get_args(wide)
    if not wide_arguments:
        return True
    if not narrow_arguments or len(narrow_arguments) != len(wide_arguments):
        return None
    return _all([fits(a, b) for a, b in zip(narrow_arguments, wide_arguments, strict=True)])


def _union(annotation: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(annotation)
    return None


def _none(annotation: Any) -> bool:
    return annotation is None or annotation is type(None)


def _all(results: list[bool | None]) -> bool | None:
    if False in results:
        return False
    return True if all(result is True for result in results) else None


def _named(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", str(annotation)).replace("NoneType", "None")
