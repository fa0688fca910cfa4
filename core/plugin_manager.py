"""Plugin loading: one pluggy manager per province.

A province's manager holds core's defaults, the plugins that serve that province and the
province-neutral ones, and nothing else: a province's records never reach another province's
plugin, because that plugin is not in the manager its hooks are called on.

Plugins come from two places: the in-repo province plugins (``chelun.plugins.<name>``) and the
entry-point group ``chelun``. A plugin says which provinces it serves with a ``PROVINCES``
attribute (two-digit codes); without one it is province-neutral.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

import pluggy

from chelun.capabilities import default_plugins, spec_classes
from chelun.hooks import PROJECT
from chelun.settings import Settings

ENTRY_POINT_GROUP = "chelun"
IN_REPO_PLUGINS = ("jiangsu", "sichuan", "guizhou", "gansu")


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
    load: Any = field(compare=False, repr=False)
    origin: str
    version: str


@dataclass(frozen=True)
class PluginInfo:
    """What ``chelun plugins list`` shows of a plugin."""

    name: str
    version: str
    origin: str
    provinces: tuple[str, ...]
    hooks: tuple[str, ...]

    @property
    def neutral(self) -> bool:
        return not self.provinces


@dataclass(frozen=True)
class Decision:
    """The result of a decision hook and the plugin that made it."""

    value: Any
    plugin: str


def _version_of(module: ModuleType) -> str:
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    from chelun import __version__

    return __version__


def _in_repo_sources() -> list[PluginSource]:
    return [
        PluginSource(
            name=name,
            load=lambda name=name: importlib.import_module(f"chelun.plugins.{name}"),
            origin="built-in",
            version="",
        )
        for name in IN_REPO_PLUGINS
    ]


def _entry_point_sources() -> list[PluginSource]:
    sources = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry_point.dist
        sources.append(
            PluginSource(
                name=entry_point.name,
                load=entry_point.load,
                origin=f"entry point {entry_point.value}",
                version=dist.version if dist is not None else "",
            )
        )
    return sources


@cache
def _load(source: PluginSource) -> Any:
    try:
        return source.load()
    except Exception as exc:  # a broken plugin must name itself, not crash anonymously
        raise PluginError(source.name, None, f"could not be loaded: {exc}") from exc


def provinces_of(plugin: object) -> tuple[str, ...]:
    """The province codes a plugin serves; empty for a province-neutral plugin."""
    provinces = getattr(plugin, "PROVINCES", ())
    if isinstance(provinces, str):
        provinces = (provinces,)
    return tuple(str(code) for code in provinces)


class PluginHost:
    """Loads plugins once and builds a manager per province."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        extra: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
    ) -> None:
        self.settings = settings or Settings()
        sources = _in_repo_sources() + (_entry_point_sources() if entry_points else [])
        allowed = self.settings.allowed_plugins
        blocked = self.settings.blocked_plugins
        self._plugins: list[tuple[str, object, str, str]] = []
        for source in sources:
            if source.name in blocked or (allowed is not None and source.name not in allowed):
                continue
            plugin = _load(source)
            version = source.version or (
                _version_of(plugin) if isinstance(plugin, ModuleType) else ""
            )
            self._plugins.append((source.name, plugin, source.origin, version))
        for name, plugin in extra:
            self._plugins.append((name, plugin, "registered in code", ""))
        self._managers: dict[str, pluggy.PluginManager] = {}

    def manager(self, province: str) -> pluggy.PluginManager:
        """The plugin manager for one province (built once, then reused)."""
        if province not in self._managers:
            self._managers[province] = self._build(province)
        return self._managers[province]

    def _build(self, province: str) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(PROJECT)
        for spec in spec_classes():
            pm.add_hookspecs(spec)
        for name, defaults in default_plugins():
            pm.register(defaults, name=name)
        for name, plugin, _origin, _version in self._plugins:
            served = provinces_of(plugin)
            if served and province not in served:
                continue
            try:
                pm.register(plugin, name=name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                raise PluginError(name, None, f"could not be registered: {exc}") from exc
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            plugin_name = pm.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginError(plugin_name, None, f"implements an unknown hook: {exc}") from exc
        return pm

    def describe(self) -> list[PluginInfo]:
        """Every loaded plugin with its version, provinces and implemented hooks."""
        from chelun import __version__

        pm = pluggy.PluginManager(PROJECT)
        for spec in spec_classes():
            pm.add_hookspecs(spec)
        entries = [
            (name, defaults, "core", __version__) for name, defaults in default_plugins()
        ] + self._plugins
        infos = []
        for name, plugin, origin, version in entries:
            pm.register(plugin, name=name)
            hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or []))
            infos.append(PluginInfo(name, version, origin, provinces_of(plugin), hooks))
        return infos


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
