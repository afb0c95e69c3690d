"""Plugin discovery: one pluggy PluginManager for project ``avbench``.

Plugins (built-in and third-party alike) are modules named by entry points in the
group ``avbench``.  A plugin that fails to import is recorded as a
:class:`PluginLoadError` naming the plugin and its entry point, and the others keep
working; the CLI reports every failure.

Environment:
  ``AVBENCH_DISABLE_PLUGIN_AUTOLOAD=1``  do not load entry points automatically;
  ``AVBENCH_PLUGINS=a,b``                 with autoload disabled, load only these entry
                                          points (by entry-point name) or modules.
Runs record which plugins were loaded, with their distribution versions.
"""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

import pluggy

from avbench import hookspecs

ENTRY_POINT_GROUP = "avbench"
DISABLE_AUTOLOAD_ENV = "AVBENCH_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "AVBENCH_PLUGINS"


class PluginLoadError(Exception):
    """A plugin could not be imported or registered; the original error is chained."""

    def __init__(self, plugin: str, source: str, cause: BaseException):
        self.plugin = plugin
        self.source = source
        self.cause = cause
        super().__init__(
            f"plugin {plugin!r} ({source}) failed to load: "
            f"{type(cause).__name__}: {cause}"
        )
        self.__cause__ = cause

    @property
    def details(self) -> str:
        return "".join(traceback.format_exception(self.cause))


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    module: str
    distribution: str
    version: str


@dataclass
class PluginSet:
    """The plugin manager with what was loaded and what failed."""

    manager: pluggy.PluginManager
    loaded: list[LoadedPlugin] = field(default_factory=list)
    failures: list[PluginLoadError] = field(default_factory=list)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _with_declared_methods(module: ModuleType) -> None:
    """A module that declares methods with ``@register_method`` answers the methods hook with
    them (together with its own ``avbench_register_methods``, if it has one)."""
    from avbench.specs import declared_methods

    declared = declared_methods(module.__name__)
    if not declared or getattr(module, "_avbench_declared_hook", False):
        return
    own = getattr(module, "avbench_register_methods", None)

    @hookspecs.hookimpl
    def avbench_register_methods():
        return [*(own() if own is not None else []), *declared]

    module.avbench_register_methods = avbench_register_methods
    module._avbench_declared_hook = True


def _register(ps: PluginSet, name: str, source: str, module: ModuleType, dist: str, ver: str):
    try:
        _with_declared_methods(module)
        ps.manager.register(module, name=name)
    except Exception as exc:  # bad hook signatures, duplicate plugin names
        ps.failures.append(PluginLoadError(name, source, exc))
        return
    ps.loaded.append(LoadedPlugin(name, module.__name__, dist, ver))


def _load_entry_point(ps: PluginSet, ep: EntryPoint) -> None:
    source = f"entry point {ep.name} = {ep.value}"
    try:
        module = ep.load()
    except Exception as exc:
        ps.failures.append(PluginLoadError(ep.name, source, exc))
        return
    dist = ep.dist.name if ep.dist is not None else "?"
    ver = ep.dist.version if ep.dist is not None else "?"
    _register(ps, ep.name, source, module, dist, ver)


def add_module(ps: PluginSet, module_name: str) -> None:
    """Register an importable module as a plugin (``-p module`` on the command line)."""
    if ps.manager.has_plugin(module_name):
        return
    source = f"module {module_name}"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        ps.failures.append(PluginLoadError(module_name, source, exc))
        return
    _register(ps, module_name, source, module, "(module)", "")


def load_plugins(extra_modules: Iterable[str] = ()) -> PluginSet:
    """Build the PluginManager from entry points (unless disabled) and extra modules."""
    ps = PluginSet(_new_manager())
    eps = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    wanted = [w.strip() for w in os.environ.get(PLUGINS_ENV, "").split(",") if w.strip()]
    if os.environ.get(DISABLE_AUTOLOAD_ENV, "").strip() not in ("", "0"):
        by_name = {ep.name: ep for ep in eps}
        for w in wanted:
            if w in by_name:
                _load_entry_point(ps, by_name[w])
            else:
                add_module(ps, w)
    else:
        seen: set[str] = set()
        for ep in eps:
            if ep.name in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(ep.name)
            _load_entry_point(ps, ep)
        for w in wanted:
            add_module(ps, w)
    for module_name in extra_modules:
        add_module(ps, module_name)
    return ps
