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
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from chelun.capabilities import default_plugins, spec_classes
from chelun.hooks import PROJECT
from chelun.settings import Settings

ENTRY_POINT_GROUP = "chelun"
#: The distribution whose entry points are loaded even with ``entry_points=False``: chelun's own,
#: which declares the in-repo province plugins.
OWN_DISTRIBUTION = "chelun"
LOGGER = logging.getLogger("chelun.plugins")

_REASON_LIMIT = 300


class PluginError(RuntimeError):
    """A plugin's hook raised, or a plugin could not be loaded or checked."""

    def __init__(self, plugin: str, hook: str | None, message: str) -> None:
        self.plugin = plugin
        self.hook = hook
        where = f"plugin {plugin!r}" + (f", hook {hook}" if hook else "")
        super().__init__(f"{where}: {message}")


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
    ) -> None:
        from chelun import __version__

        self.settings = settings or Settings()
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
            provinces = declared_provinces(plugin)
        except ValueError as exc:
            raise _Refused(str(exc)) from None
        hooks = _checked_hooks(source.name, plugin)
        version = source.version or (_version_of(plugin) if isinstance(plugin, ModuleType) else "")
        return _Loaded(plugin, PluginInfo(source.name, version, source.origin, provinces, hooks))

    def manager(self, province: str) -> pluggy.PluginManager:
        """The plugin manager for one province (built once, then reused)."""
        if province not in self._managers:
            self._managers[province] = self._build(province)
        return self._managers[province]

    def _build(self, province: str) -> pluggy.PluginManager:
        # Every plugin was checked alone when it loaded: registering it here cannot fail.
        pm = _scratch_manager()
        for loaded in self._defaults + self._plugins:
            if loaded.info.provinces and province not in loaded.info.provinces:
                continue
            pm.register(loaded.plugin, name=loaded.info.name)
        return pm

    def describe(self) -> list[PluginInfo]:
        """Every loaded plugin, core's defaults first, with its version, provinces and hooks;
        the plugins left out are in ``failures``."""
        return [loaded.info for loaded in self._defaults + self._plugins]


def _implementations(pm: pluggy.PluginManager, hook: str) -> list[pluggy.HookImpl]:
    caller = getattr(pm.hook, hook)
    # pluggy calls implementations last-registered first, honouring tryfirst/trylast; its
    # list is in the reverse of calling order.
    return [
        impl for impl in reversed(caller.get_hookimpls()) if not (impl.hookwrapper or impl.wrapper)
    ]


def _invoke(impl: pluggy.HookImpl, hook: str, kwargs: dict[str, Any]) -> Any:
    missing = [name for name in impl.argnames if name not in kwargs]
    if missing:  # the caller's mistake, not the plugin's
        raise TypeError(f"hook {hook} called without argument(s) {', '.join(missing)}")
    try:
        return impl.function(*(kwargs[name] for name in impl.argnames))
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(impl.plugin_name, hook, f"{type(exc).__name__}: {exc}") from exc


def call_all(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of a contribution hook; (plugin, result) in calling order.

    A hook that raises is reported as a ``PluginError`` naming the plugin and the hook.
    """
    return [(impl.plugin_name, _invoke(impl, hook, kwargs)) for impl in _implementations(pm, hook)]


def call_each(
    pm: pluggy.PluginManager, hook: str, arguments: Callable[[str], dict[str, Any]]
) -> list[tuple[str, Any]]:
    """Like ``call_all``, but each plugin gets the arguments ``arguments(plugin_name)`` returns:
    a ``register`` callback, say, that records which plugin registered what."""
    return [
        (impl.plugin_name, _invoke(impl, hook, arguments(impl.plugin_name)))
        for impl in _implementations(pm, hook)
    ]


def decide(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Decision | None:
    """Call a firstresult hook; the first non-None result with the plugin that returned it."""
    for impl in _implementations(pm, hook):
        value = _invoke(impl, hook, kwargs)
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
        raise PluginError(plugin, hook, f"returned a {type(decision.value).__name__}, not a list")
    answers = list(decision.value)
    if len(answers) != count:
        raise PluginError(plugin, hook, f"returned {len(answers)} decisions for {count} items")
    for answer in answers:
        if answer is not None and not isinstance(answer, kind):
            raise PluginError(
                plugin, hook, f"returned a {type(answer).__name__}, not a {kind.__name__}"
            )
    return answers, plugin
