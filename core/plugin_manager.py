"""Plugin loading: one pluggy manager per province.

A province's manager holds core's defaults, the plugins that serve that province and the
province-neutral ones, and nothing else: a province's records never reach another province's
plugin, because that plugin is not in the manager its hooks are called on.

Every plugin takes the same road: the entry-point group ``chelun``. The in-repo province plugins
are entry points of chelun's own distribution (its ``pyproject.toml``), a third-party plugin is
an entry point of its own; core keeps no list of plugin names. Plugins can also be passed in code
(``PluginHost(extra=...)``). Each plugin must declare the provinces it serves
(``PROVINCES = ("62",)``, two-digit codes) or that it serves every province
(``PROVINCE_NEUTRAL = True``); core's own defaults are province-neutral by construction.

A plugin that cannot be loaded (import error, missing or malformed declaration, hook that does
not fit its specification, unknown hook, hook wrapper) is left out on its own: it is recorded in
``PluginHost.failures`` and reported (a warning on the ``chelun.plugins`` logger by default), and
every other plugin and every province's manager work as usual.

Versioned hook API: core's hooks, their arguments and what they return make up chelun's hook API,
numbered ``HOOK_API_VERSION``. A plugin declares the versions it is written for
(``CHELUN_HOOK_API = ">=1,<2"``); one that excludes this chelun's is refused when it loads, with
a message saying so, rather than called with arguments it does not expect.

Calling plugins: ``call_all``, ``call_each``, ``decide`` and ``decide_batch`` call each
implementation themselves, so as to name the plugin behind every answer. An implementation that
raises, answers with something its hook's specification does not allow, or does not answer within
``CHELUN_PLUGIN_TIMEOUT`` seconds is reported as a ``PluginMisbehaved`` naming the plugin and the
hook. What a run does then is ``CHELUN_PLUGIN_FAILURE`` (``QUARANTINE_HOOKS`` says where
``quarantine`` applies; docs/plugins.md explains both).
"""

from __future__ import annotations

import collections.abc
import contextvars
import functools
import importlib.metadata
import logging
import queue
import re
import threading
import types
import typing
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal

import pluggy
from pydantic import BaseModel, Field

from chelun.capabilities import CAPABILITIES, default_plugins, spec_classes
from chelun.hooks import PROJECT
from chelun.settings import ChelunSettings, Settings

ENTRY_POINT_GROUP = "chelun"
#: The distribution whose entry points are loaded even with ``entry_points=False``: chelun's own,
#: which declares the in-repo province plugins.
OWN_DISTRIBUTION = "chelun"
LOGGER = logging.getLogger("chelun.plugins")

#: The version of chelun's hook API: the hooks, their arguments and what they return. It goes up
#: by one when a change would break a plugin written for it (a hook removed or renamed, an
#: argument removed or changing meaning, a return type narrowed); a new hook or a new argument
#: does not change it, since an implementation asks only for the arguments it names.
HOOK_API_VERSION = 1
#: The attribute in which a plugin declares the hook API versions it supports.
HOOK_API_ATTRIBUTE = "CHELUN_HOOK_API"

#: Hooks where ``CHELUN_PLUGIN_FAILURE=quarantine`` applies, and what happens to the record(s) of
#: a call that misbehaved: for each, "no decision" leaves the records as they were and the next
#: run asks again. Every other hook fails the run whatever the setting: there, no answer means
#: core decides (or a contribution goes missing), which would store decisions made without the
#: province's rules.
QUARANTINE_HOOKS: dict[str, str] = {
    "chelun_assign_branch": "the member driver stays without a branch until the next run",
    "chelun_pair_drivers": "the home city's drivers stay unpaired until the next run",
    "chelun_check_phones": "the batch stays at the phone stage until the next run",
    "chelun_home_visits": "the batch stays at the visit stage until the next run",
    "chelun_insurer_client": "the product's claims wait at assessed until the next run",
}

_REASON_LIMIT = 300
#: Names of core's default plugins: never time-limited, never quarantined.
_CORE_NAMES = frozenset(f"chelun.{capability}.defaults" for capability in CAPABILITIES)


class PluginSettings(ChelunSettings):
    """How chelun treats a plugin that misbehaves while a hook runs."""

    plugin_timeout: float = Field(
        default=300.0,
        ge=0,
        le=86_400,
        description="Seconds a plugin's hook implementation has to answer one call before it is "
        "reported as hung (0: no limit).",
    )
    plugin_failure: Literal["fail", "quarantine"] = Field(
        default="fail",
        description="What a run does when a plugin raises, answers with the wrong type or hangs: "
        "fail (stop; the batch's transaction is rolled back) or quarantine (set the record "
        "aside for the next run, where the hook allows it; docs/plugins.md).",
    )


class PluginError(RuntimeError):
    """A plugin's hook raised, or a plugin could not be loaded or checked."""

    def __init__(self, plugin: str, hook: str | None, message: str) -> None:
        self.plugin = plugin
        self.hook = hook
        where = f"plugin {plugin!r}" + (f", hook {hook}" if hook else "")
        super().__init__(f"{where}: {message}")


class PluginMisbehaved(PluginError):
    """A plugin's implementation misbehaved while its hook ran: ``kind`` says how (``raised``,
    ``wrong type``, ``timed out``)."""

    def __init__(self, plugin: str, hook: str, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(plugin, hook, message)


@dataclass(frozen=True)
class PluginSource:
    """A plugin that could be loaded, before any manager holds it."""

    name: str
    load: Callable[[], object] = field(compare=False, repr=False)
    origin: str
    version: str
    distribution: str = ""


@dataclass(frozen=True)
class PluginFailure:
    """A plugin left out: its name, where it comes from and why, in one line."""

    name: str
    origin: str
    reason: str

    def __str__(self) -> str:
        return f"plugin {self.name!r} ({self.origin}) is not loaded: {self.reason}"


@dataclass(frozen=True)
class PluginInfo:
    """What ``chelun plugins list`` shows of a loaded plugin."""

    name: str
    version: str
    origin: str
    provinces: tuple[str, ...]
    hooks: tuple[str, ...]
    #: The hook API versions it declares (``CHELUN_HOOK_API``) as written; None: undeclared.
    hook_api: str | None = None

    @property
    def neutral(self) -> bool:
        return not self.provinces


@dataclass(frozen=True)
class _Loaded:
    """A plugin that passed every check, ready to be registered in province managers."""

    plugin: object
    info: PluginInfo


@dataclass(frozen=True)
class Decision:
    """The result of a decision hook and the plugin that made it."""

    value: Any
    plugin: str


class _Refused(Exception):
    """Why a plugin is left out; the message is the failure's one-line reason."""


def log_failure(failure: PluginFailure) -> None:
    """The default report of a plugin left out: one warning on the ``chelun.plugins`` logger."""
    LOGGER.warning("%s", failure)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if len(reason) > _REASON_LIMIT:
        reason = reason[: _REASON_LIMIT - 3] + "..."
    return reason


def _version_of(module: ModuleType) -> str:
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    from chelun import __version__

    return __version__


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _entry_point_sources(*, others: bool) -> tuple[list[PluginSource], list[PluginFailure]]:
    """The group's entry points, sorted by name, one per name; and the names claimed twice.

    Only chelun's own distribution is read unless ``others``. A distribution visible twice (an
    ``.egg-info`` in the working folder beside the installed ``.dist-info``, say) counts once:
    the first on ``sys.path``, as for imports. Two distributions offering the same name are a
    conflict: the first on ``sys.path`` loads, the other is a failure.
    """
    chosen: dict[str, PluginSource] = {}
    conflicts: list[PluginFailure] = []
    if others:
        distributions = importlib.metadata.distributions()
    else:
        distributions = importlib.metadata.distributions(name=OWN_DISTRIBUTION)
    for dist in distributions:
        found = dist.entry_points.select(group=ENTRY_POINT_GROUP)
        if not found:
            continue
        distribution = _normalized(dist.metadata.get("Name") or "")
        for entry_point in found:
            source = PluginSource(
                name=entry_point.name,
                load=entry_point.load,
                origin=f"entry point {entry_point.value}",
                version=dist.version or "",
                distribution=distribution,
            )
            first = chosen.setdefault(entry_point.name, source)
            if first is not source and first.distribution != distribution:
                conflicts.append(
                    PluginFailure(
                        source.name,
                        f"{source.origin} of {distribution}",
                        f"{first.distribution} already provides a plugin of this name "
                        f"({first.origin}); uninstall one of the two distributions",
                    )
                )
    return sorted(chosen.values(), key=lambda source: source.name), conflicts


def declared_provinces(plugin: object) -> tuple[str, ...]:
    """The province codes a plugin serves; empty for a plugin declared province-neutral.

    Raises ``ValueError`` saying what is wrong with the declaration and what to write instead.
    """
    provinces = getattr(plugin, "PROVINCES", None)
    neutral = getattr(plugin, "PROVINCE_NEUTRAL", None)
    if neutral is not None and neutral is not True and neutral is not False:
        raise ValueError(
            f"PROVINCE_NEUTRAL must be True, not {_shown(neutral)}; leave it out of a plugin "
            "that sets PROVINCES"
        )
    if provinces is None:
        if neutral is True:
            return ()
        raise ValueError(
            'declares no provinces: set PROVINCES to the codes it serves, e.g. PROVINCES = ("62",),'
            " or PROVINCE_NEUTRAL = True if it serves every province"
        )
    if neutral is True:
        raise ValueError(
            "declares both PROVINCES and PROVINCE_NEUTRAL = True: keep PROVINCES for the "
            "provinces it serves, or PROVINCE_NEUTRAL alone if it serves every province"
        )
    codes = (provinces,) if isinstance(provinces, str) else provinces
    if not isinstance(codes, tuple | list | frozenset | set) or not codes:
        raise ValueError(
            f'PROVINCES must be a tuple of two-digit province codes such as ("62",), not '
            f"{_shown(provinces)}"
        )
    from chelun.identity.divisions import divisions

    known = divisions().province_names
    for code in codes:
        if not (isinstance(code, str) and len(code) == 2 and code.isascii() and code.isdigit()):
            raise ValueError(
                f'PROVINCES holds {_shown(code)}: write two-digit codes as strings, such as ("62",)'
            )
        if code not in known:
            raise ValueError(f"PROVINCES holds {code!r}, which is not a province code")
    return tuple(sorted(set(codes)))


_API_CLAUSE = re.compile(r"(>=|<=|==|!=|>|<)?\s*(\d{1,4})")


def declared_hook_api(plugin: object) -> str | None:
    """The hook API versions a plugin declares (``CHELUN_HOOK_API``), as text; None when it
    declares none, which is taken to mean this chelun's version.

    A declaration is a range, ``">=1,<2"`` (clauses ``>=``, ``>``, ``<=``, ``<``, ``==``, ``!=``
    or a bare version, joined by commas), or the versions themselves, ``(1,)``, ``(1, 2)`` or
    ``1``.
    Raises ``ValueError`` saying what is wrong: a malformed declaration, or one that leaves out
    ``HOOK_API_VERSION``.
    """
    declared = getattr(plugin, HOOK_API_ATTRIBUTE, None)
    if declared is None:
        return None
    supported: bool | None = None
    if isinstance(declared, str):
        text = declared.strip()
        supported = _range_admits(text, HOOK_API_VERSION)
    elif isinstance(declared, int) and not isinstance(declared, bool):
        text = str(declared)
        supported = declared == HOOK_API_VERSION
    elif (
        isinstance(declared, tuple | list | frozenset | set)
        and declared
        and all(isinstance(v, int) and not isinstance(v, bool) for v in declared)
    ):
        text = repr(tuple(sorted(declared)))
        supported = HOOK_API_VERSION in declared
    if supported is None:
        raise ValueError(
            f'{HOOK_API_ATTRIBUTE} must be a range of hook API versions such as ">=1,<2", or a '
            f"tuple of versions such as (1,), not {_shown(declared)}"
        )
    if not supported:
        raise ValueError(
            f"supports chelun's hook API {text} ({HOOK_API_ATTRIBUTE}), and this chelun's hook "
            f"API is {HOOK_API_VERSION}: install a release of the plugin written for hook API "
            f"{HOOK_API_VERSION}, or a chelun whose hook API it supports"
        )
    return text


def _range_admits(declared: str, version: int) -> bool | None:
    """Whether ``version`` is inside a declared range; None for text that is not a range."""
    clauses = [clause.strip() for clause in declared.split(",")]
    if not all(clauses):
        return None
    admitted = True
    for clause in clauses:
        match = _API_CLAUSE.fullmatch(clause)
        if match is None:
            return None
        operator, bound = match.group(1) or "==", int(match.group(2))
        admitted &= {
            ">=": version >= bound,
            ">": version > bound,
            "<=": version <= bound,
            "<": version < bound,
            "==": version == bound,
            "!=": version != bound,
        }[operator]
    return admitted


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scratch_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    for spec in spec_classes():
        pm.add_hookspecs(spec)
    return pm


def _checked_hooks(name: str, plugin: object) -> tuple[str, ...]:
    """Register ``plugin`` alone in a manager of its own and check it against the hook
    specifications; the hooks it implements. Raises ``_Refused`` for a plugin chelun cannot use.

    Alone, so that a failure is the plugin's own and nobody else's.
    """
    pm = _scratch_manager()
    # The attributes pluggy would register, read as pluggy reads them (before registering, so
    # that a wrapper is named as one whatever else is wrong with it).
    wrappers = sorted(
        attribute
        for attribute in dir(plugin)
        if (opts := pm.parse_hookimpl_opts(plugin, attribute))
        and (opts.get("wrapper") or opts.get("hookwrapper"))
    )
    if wrappers:
        raise _Refused(
            f"implements {', '.join(wrappers)} as a hook wrapper (wrapper=True or "
            "hookwrapper=True), which chelun never runs: chelun calls each implementation "
            "itself to record which plugin decided; use a plain @hookimpl"
        )
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise _Refused(
            f"could not be registered: {_one_line(exc)}; check each implementation against its "
            "hook's signature in docs/hooks.md"
        ) from None
    callers = pm.get_hookcallers(plugin) or []
    try:
        pm.check_pending()
    except pluggy.PluginValidationError:
        unknown = sorted(
            caller.name
            for caller in callers
            if not caller.has_spec()
            and any(not impl.optionalhook for impl in caller.get_hookimpls())
        )
        raise _Refused(
            f"implements {', '.join(unknown) or 'a hook'}, which is no chelun hook: correct the "
            "name (docs/hooks.md lists every hook) or mark it @hookimpl(optionalhook=True)"
        ) from None
    return tuple(sorted(caller.name for caller in callers))


class PluginHost:
    """Loads plugins once and builds a manager per province.

    Plugins are the entry points of the group ``chelun``, in the order of their names, then
    ``extra`` (name, plugin) pairs in the order given; ``CHELUN_LOAD_PLUGINS`` and
    ``CHELUN_BLOCK_PLUGINS`` choose among the entry points. With ``entry_points=False`` only
    chelun's own entry points (the in-repo province plugins) are read, not those of other
    installed distributions: for tests and benchmarks that must not depend on what else is
    installed. A plugin that fails to load is left out, recorded in ``failures`` and passed to
    ``report`` (by default a warning on the ``chelun.plugins`` logger).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        extra: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
        report: Callable[[PluginFailure], None] = log_failure,
        plugin_settings: PluginSettings | None = None,
    ) -> None:
        from chelun import __version__

        self.settings = settings or Settings()
        #: The time limit and the failure policy of the managers' hook calls.
        self.policy = CallPolicy.of(plugin_settings or PluginSettings())
        extra = list(extra)
        self.failures: list[PluginFailure] = []
        self._defaults: list[_Loaded] = []
        for name, defaults in default_plugins():  # province-neutral by construction
            try:
                hooks = _checked_hooks(name, defaults)
            except _Refused as refused:  # core's own mistake: nothing can run without them
                raise PluginError(name, None, str(refused)) from None
            self._defaults.append(
                _Loaded(defaults, PluginInfo(name, __version__, "core", (), hooks))
            )
        self._plugins: list[_Loaded] = []
        allowed = self.settings.allowed_plugins
        blocked = self.settings.blocked_plugins

        def wanted(name: str) -> bool:
            return name not in blocked and (allowed is None or name in allowed)

        sources, conflicts = _entry_point_sources(others=entry_points)
        self.failures.extend(failure for failure in conflicts if wanted(failure.name))
        known = {source.name for source in sources} | {name for name, _ in extra}
        self.failures.extend(
            PluginFailure(
                name,
                "CHELUN_LOAD_PLUGINS",
                "no installed plugin has this name; check the spelling (chelun plugins list)",
            )
            for name in sorted((allowed or set()) - known)
        )
        sources = [source for source in sources if wanted(source.name)]
        sources += [
            PluginSource(
                name, load=lambda plugin=plugin: plugin, origin="registered in code", version=""
            )
            for name, plugin in extra
        ]
        for source in sources:
            try:
                self._plugins.append(self._admit(source))
            except _Refused as refused:
                self.failures.append(PluginFailure(source.name, source.origin, str(refused)))
            except Exception as exc:  # whatever else goes wrong, it is this plugin's alone
                LOGGER.debug("plugin %r could not be checked", source.name, exc_info=True)
                reason = f"could not be checked: {_one_line(exc)}"
                self.failures.append(PluginFailure(source.name, source.origin, reason))
        for failure in self.failures:
            report(failure)
        self._managers: dict[str, pluggy.PluginManager] = {}

    def _admit(self, source: PluginSource) -> _Loaded:
        """Load and check one plugin; raises ``_Refused`` with the reason it cannot be used."""
        admitted = self._defaults + self._plugins
        if any(loaded.info.name == source.name for loaded in admitted):
            raise _Refused(
                "another plugin already has this name; rename the entry point (or the name "
                "passed in code)"
            )
        try:
            plugin = source.load()
        except Exception as exc:  # a broken plugin must name itself, and stop nobody else
            LOGGER.debug("plugin %r could not be imported", source.name, exc_info=True)
            raise _Refused(
                f"could not be imported: {_one_line(exc)}; install what it needs, or leave it "
                "out with CHELUN_BLOCK_PLUGINS"
            ) from None
        twin = next((loaded for loaded in admitted if loaded.plugin is plugin), None)
        if twin is not None:
            raise _Refused(
                f"is the same object as plugin {twin.info.name!r}; register it once, under one name"
            )
        try:
            # The hook API first: a plugin for another API may well fail the checks after it.
            hook_api = declared_hook_api(plugin)
            provinces = declared_provinces(plugin)
        except ValueError as exc:
            raise _Refused(str(exc)) from None
        hooks = _checked_hooks(source.name, plugin)
        version = source.version or (_version_of(plugin) if isinstance(plugin, ModuleType) else "")
        return _Loaded(
            plugin, PluginInfo(source.name, version, source.origin, provinces, hooks, hook_api)
        )

    def manager(self, province: str) -> pluggy.PluginManager:
        """The plugin manager for one province (built once, then reused)."""
        if province not in self._managers:
            self._managers[province] = self._build(province)
        return self._managers[province]

    def _build(self, province: str) -> pluggy.PluginManager:
        # Every plugin was checked alone when it loaded: registering it here cannot fail.
        pm = _scratch_manager()
        pm.chelun_calls = _Calls(self.policy)  # type: ignore[attr-defined]
        for loaded in self._defaults + self._plugins:
            if loaded.info.provinces and province not in loaded.info.provinces:
                continue
            pm.register(loaded.plugin, name=loaded.info.name)
        return pm

    def describe(self) -> list[PluginInfo]:
        """Every loaded plugin, core's defaults first, with its version, provinces and hooks;
        the plugins left out are in ``failures``."""
        return [loaded.info for loaded in self._defaults + self._plugins]


# --- calling plugins -------------------------------------------------------------------------


@dataclass(frozen=True)
class CallPolicy:
    """How a manager's hook calls treat a misbehaving plugin: the time limit in seconds (None:
    none) and ``fail`` or ``quarantine``."""

    timeout: float | None = None
    failure: Literal["fail", "quarantine"] = "fail"

    @classmethod
    def of(cls, settings: PluginSettings) -> CallPolicy:
        return cls(settings.plugin_timeout or None, settings.plugin_failure)


@dataclass
class Misbehaviour:
    """A plugin's misbehaviour in one hook that a manager set aside under ``quarantine``: how,
    how often, and the first time's message (the plugin's own exception text left out: it may
    quote the records)."""

    plugin: str
    hook: str
    kind: str
    reason: str
    count: int = 1


class _Calls:
    """A manager's call state: its policy, the implementations that hung, what it set aside."""

    def __init__(self, policy: CallPolicy) -> None:
        self.policy = policy
        self.hung: dict[tuple[str, str], float] = {}
        self.set_aside: dict[tuple[str, str, str], Misbehaviour] = {}
        self.lock = threading.Lock()


def _calls(pm: pluggy.PluginManager) -> _Calls:
    """The call state of a manager: a province's manager has its host's; any other manager gets
    the policy of the settings when first called."""
    state = getattr(pm, "chelun_calls", None)
    if state is None:
        state = _Calls(CallPolicy.of(PluginSettings()))
        pm.chelun_calls = state  # type: ignore[attr-defined]
    return state


def misbehaviours(pm: pluggy.PluginManager) -> list[Misbehaviour]:
    """What a manager set aside under ``CHELUN_PLUGIN_FAILURE=quarantine``: one entry per
    plugin, hook and kind of misbehaviour, with how many calls it concerned."""
    return list(_calls(pm).set_aside.values())


def _implementations(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    caller = getattr(pm.hook, hook)
    # pluggy calls implementations last-registered first, honouring tryfirst/trylast; its
    # list is in the reverse of calling order.
    return [
        impl for impl in reversed(caller.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)
    ]


class _TimedOut(Exception):
    """An implementation did not answer within its time limit."""


class _Call:
    """One implementation's call, run by a worker thread in the caller's context."""

    def __init__(self, function: Callable[..., Any], args: list[Any]) -> None:
        self.function = function
        self.args = args
        self.context = contextvars.copy_context()
        # Held until the call is over: the lightest signal a waiting caller can time out on.
        self.running = threading.Lock()
        self.running.acquire()
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.context.run(self.function, *self.args)
        except BaseException as exc:  # handed to the caller, which decides
            self.error = exc
        finally:
            self.running.release()


def _serve(jobs: queue.SimpleQueue[_Call | None]) -> None:
    while (call := jobs.get()) is not None:
        call.run()


class _Worker:
    """A daemon thread that runs one calling thread's time-limited implementations, one at a
    time, so that the caller can stop waiting. Python cannot stop a thread: a call that hangs
    keeps its worker, which the caller abandons (the next call starts a fresh one). The worker
    ends when it is abandoned or its calling thread ends, once its current call returns, if it
    ever does; being a daemon, it never keeps the process from exiting."""

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        threading.Thread(
            target=_serve, args=(self.jobs,), name="chelun-plugin-call", daemon=True
        ).start()
        # Stop the thread when this worker is dropped: abandoned, or its calling thread ended.
        weakref.finalize(self, self.jobs.put, None)


_local = threading.local()


def _run_limited(function: Callable[..., Any], args: list[Any], timeout: float) -> Any:
    """``function(*args)`` on this thread's worker; ``_TimedOut`` after ``timeout`` seconds."""
    worker: _Worker | None = getattr(_local, "worker", None)
    if worker is None:
        worker = _local.worker = _Worker()
    call = _Call(function, args)
    worker.jobs.put(call)
    if not call.running.acquire(timeout=timeout):
        _local.worker = None  # busy with the hung call for good, perhaps
        raise _TimedOut
    if call.error is not None:
        raise call.error
    return call.value


class _Gate:
    """A callback handed to a time-limited implementation, closed if the call times out: a call
    left running can no longer reach the caller's data."""

    def __init__(self, callback: Callable[..., Any]) -> None:
        self.callback = callback
        self.open = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.open:
            raise RuntimeError("called after its hook call timed out; ignored")
        return self.callback(*args, **kwargs)


def _invoke(
    pm: pluggy.PluginManager, impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any]
) -> Any:
    missing = [name for name in impl.argnames if name not in kwargs]
    if missing:  # the caller's mistake, not the plugin's
        raise TypeError(f"hook {hook} called without argument(s) {', '.join(missing)}")
    state = _calls(pm)
    plugin = impl.plugin_name
    timeout = None if plugin in _CORE_NAMES else state.policy.timeout
    if timeout is not None and (plugin, hook) in state.hung:
        raise PluginMisbehaved(
            plugin,
            hook,
            "timed out",
            f"did not answer within {state.hung[plugin, hook]:g} s earlier in this run "
            "(CHELUN_PLUGIN_TIMEOUT); not asked again",
        )
    args = [kwargs[name] for name in impl.argnames]
    gate = None
    if timeout is not None and "register" in impl.argnames:
        index = impl.argnames.index("register")
        gate = args[index] = _Gate(args[index])
    try:
        if timeout is None:
            value = impl.function(*args)
        else:
            value = _run_limited(impl.function, args, timeout)
    except PluginError:
        raise
    except _TimedOut:
        if gate is not None:
            gate.open = False
        state.hung[plugin, hook] = timeout  # type: ignore[assignment]
        raise PluginMisbehaved(
            plugin,
            hook,
            "timed out",
            f"did not answer within {timeout:g} s (CHELUN_PLUGIN_TIMEOUT); the call was left "
            "running in a background thread and its answer will be ignored",
        ) from None
    except Exception as exc:
        raise PluginMisbehaved(plugin, hook, "raised", f"{type(exc).__name__}: {exc}") from exc
    problem = return_problem(pm, hook, value)
    if problem is not None:
        raise PluginMisbehaved(plugin, hook, "wrong type", f"returned {problem}")
    return value


def _set_aside(pm: pluggy.PluginManager, hook: str, error: PluginMisbehaved) -> bool:
    """Under ``quarantine``, record a misbehaving call of a hook that allows it, so that its
    record(s) wait for the next run; False where the run must fail instead."""
    state = _calls(pm)
    if (
        state.policy.failure != "quarantine"
        or hook not in QUARANTINE_HOOKS
        or error.plugin in _CORE_NAMES
    ):
        return False
    # The plugin's exception text may quote the records: the type alone is kept and logged.
    reason = error.kind
    if error.kind == "raised" and error.__cause__ is not None:
        reason = f"raised {type(error.__cause__).__name__}"
    elif error.kind != "raised":
        reason = str(error).split(": ", 1)[-1]
    key = (error.plugin, hook, error.kind)
    with state.lock:
        seen = state.set_aside.get(key)
        if seen is not None:
            seen.count += 1
            return True
        state.set_aside[key] = Misbehaviour(error.plugin, hook, error.kind, reason)
    LOGGER.warning(
        "plugin %r, hook %s: %s; quarantined (CHELUN_PLUGIN_FAILURE=quarantine): %s; later "
        "calls that misbehave the same way are counted, not logged",
        error.plugin,
        hook,
        reason,
        QUARANTINE_HOOKS[hook],
    )
    return True


def call_all(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of a contribution hook; (plugin, result) in calling order.

    A hook that raises is reported as a ``PluginError`` naming the plugin and the hook.
    """
    return [
        (impl.plugin_name, _invoke(pm, impl, hook, kwargs)) for impl in _implementations(pm, hook)
    ]


def call_each(
    pm: pluggy.PluginManager, hook: str, arguments: Callable[[str], dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Like ``call_all``, but each plugin gets the arguments ``arguments(plugin_name)`` returns:
    a ``register`` callback, say, that records which plugin registered what."""
    return [
        (impl.plugin_name, _invoke(pm, impl, hook, arguments(impl.plugin_name)))
        for impl in _implementations(pm, hook)
    ]


def call_one(pm: pluggy.PluginManager, plugin: str, hook: str, **kwargs: Any) -> Any:
    """Call one plugin's implementation of a hook, as the other calls would (time limit, return
    type checked): what a plugin's own tests and the conformance checks use. Raises
    ``KeyError`` when the plugin in ``pm`` does not implement ``hook``."""
    for impl in _implementations(pm, hook):
        if impl.plugin_name == plugin:
            return _invoke(pm, impl, hook, kwargs)
    raise KeyError(f"plugin {plugin!r} implements no {hook} in this manager")


def decide(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Decision | None:
    """Call a firstresult hook; the first non-None result with the plugin that returned it.

    Under ``CHELUN_PLUGIN_FAILURE=quarantine``, a plugin misbehaving in one of the
    ``QUARANTINE_HOOKS`` makes the call return None (nobody decided: the caller leaves the
    record(s) for the next run) instead of raising; the implementations after it are not asked.
    """
    for impl in _implementations(pm, hook):
        try:
            value = _invoke(pm, impl, hook, kwargs)
        except PluginMisbehaved as error:
            if _set_aside(pm, hook, error):
                return None
            raise
        if value is not None:
            return Decision(value, impl.plugin_name)
    return None


def decide_batch(
    pm: pluggy.PluginManager, hook: str, count: int, kind: type, /, **kwargs: Any
) -> tuple[list[Any], str | None]:
    """Call a batch decision hook (a batch of ``count`` items in ``kwargs``, a decision or None
    per item out): the first plugin's answers, checked, and its name; ``[None] * count`` and None
    when no plugin decided. A plugin that answers with something other than a list as long as
    the batch, or with decisions that are not ``kind``, is named in a ``PluginError``. Items
    left None are the caller's to decide (core's default)."""
    decision = decide(pm, hook, **kwargs)
    if decision is None:
        return [None] * count, None
    plugin = decision.plugin
    if not isinstance(decision.value, list | tuple):
        raise PluginMisbehaved(
            plugin, hook, "wrong type", f"returned a {type(decision.value).__name__}, not a list"
        )
    answers = list(decision.value)
    if len(answers) != count:
        raise PluginMisbehaved(
            plugin, hook, "wrong type", f"returned {len(answers)} decisions for {count} items"
        )
    for answer in answers:
        if answer is not None and not isinstance(answer, kind):
            raise PluginMisbehaved(
                plugin,
                hook,
                "wrong type",
                f"returned a {type(answer).__name__}, not a {kind.__name__}",
            )
    return answers, plugin


# --- what a hook may return --------------------------------------------------------------------


@functools.cache
def _spec_hints(function: Callable[..., Any]) -> dict[str, Any]:
    return typing.get_type_hints(function)


def hook_annotations(pm: pluggy.PluginManager, hook: str) -> dict[str, Any] | None:
    """The resolved annotations of a hook's specification (arguments and ``return``); None for
    a hook without one."""
    caller = getattr(pm.hook, hook, None)
    spec = getattr(caller, "spec", None)
    if spec is None:
        return None
    return _spec_hints(spec.function)


def return_problem(pm: pluggy.PluginManager, hook: str, value: Any) -> str | None:
    """What is wrong with ``value`` as an answer to ``hook`` (``"a dict, not a list"``), checked
    against its specification's return annotation; None when it fits."""
    caller = getattr(pm.hook, hook, None)
    spec = getattr(caller, "spec", None)
    if spec is None:
        return None
    return _return_checker(spec.function)(value)


@functools.cache
def _return_checker(function: Callable[..., Any]) -> Callable[[Any], str | None]:
    hints = _spec_hints(function)
    return _checker(hints["return"]) if "return" in hints else _anything


def type_problem(value: Any, annotation: Any) -> str | None:
    """What is wrong with ``value`` as a ``annotation``, in words; None when it fits.

    Covers what hook specifications use: None, unions, lists and tuples (either is accepted
    for a list), dicts, literals, callables, pydantic models and other classes, and protocols
    (the members are there). Anything else is not judged.
    """
    try:
        check = _checker(annotation)
    except TypeError:  # an annotation that cannot be hashed: checked without the cache
        check = _checker.__wrapped__(annotation)
    return check(value)


def _anything(value: Any) -> str | None:
    return None


@functools.cache
def _checker(annotation: Any) -> Callable[[Any], str | None]:
    """A function telling what is wrong with a value as an ``annotation``: built once per
    annotation, since hooks are called for every batch (and some for every driver)."""
    if annotation is Any or annotation is object:
        return _anything
    if annotation is None or annotation is type(None):
        return lambda value: None if value is None else f"a {_type_name(value)}, not None"
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return _union_checker(annotation, arguments)
    if origin in (list, tuple, collections.abc.Sequence):
        return _list_checker(_checker(arguments[0]) if arguments else _anything)
    if origin is dict:
        return lambda value: (
            None if isinstance(value, dict) else f"a {_type_name(value)}, not a dict"
        )
    if origin is Literal:
        return lambda value: (
            None if value in arguments else f"{value!r}, not one of {list(arguments)}"
        )
    if origin is collections.abc.Callable:
        return lambda value: None if callable(value) else f"a {_type_name(value)}, not a callable"
    if isinstance(annotation, type):
        if getattr(annotation, "_is_protocol", False):
            return _protocol_checker(annotation)
        name = annotation.__name__
        return lambda value: (
            None if isinstance(value, annotation) else f"a {_type_name(value)}, not a {name}"
        )
    return _anything


def _union_checker(annotation: Any, arguments: tuple[Any, ...]) -> Callable[[Any], str | None]:
    allows_none = type(None) in arguments
    options = [_checker(option) for option in arguments if option is not type(None)]
    shown = _annotation_name(annotation)

    def check(value: Any) -> str | None:
        if value is None:
            return None if allows_none else f"None, not {shown}"
        problems = []
        for option in options:
            problem = option(value)
            if problem is None:
                return None
            problems.append(problem)
        return problems[0] if len(problems) == 1 else f"a {_type_name(value)}, not {shown}"

    return check


def _list_checker(item: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if not isinstance(value, list | tuple):
            return f"a {_type_name(value)}, not a list"
        if item is not _anything:
            for index, element in enumerate(value):
                problem = item(element)
                if problem is not None:
                    return f"a list whose item {index} is {problem}"
        return None

    return check


def _protocol_checker(protocol: type) -> Callable[[Any], str | None]:
    members = _protocol_members(protocol)

    def check(value: Any) -> str | None:
        missing = [name for name in members if not hasattr(value, name)]
        if missing:
            return f"a {_type_name(value)} without {', '.join(missing)}, not a {protocol.__name__}"
        return None

    return check


def _protocol_members(protocol: type) -> list[str]:
    names = set(getattr(protocol, "__annotations__", {}))
    names |= {
        name
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }
    return sorted(names)


def _type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _annotation_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b[\w.]+\.(\w+)", r"\1", str(annotation))


def revalidated(value: Any) -> list[str]:
    """Problems of the pydantic models inside an answer that a plugin built without validation
    (``model_construct``): each model is validated again from its fields."""
    problems: list[str] = []
    if isinstance(value, list | tuple):
        for element in value:
            problems.extend(revalidated(element))
    elif isinstance(value, BaseModel):
        try:
            type(value).model_validate(value.model_dump())
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {}
            where = ".".join(str(part) for part in first.get("loc", ())) or "?"
            problems.append(f"a {type(value).__name__} that does not validate ({where})")
    return problems
