"""Name lookup over everything the loaded plugins registered.

Each kind (methods, protocols, datasets, landmark extractors) is a mapping from a
stable name to its spec.  Unknown names raise :class:`UnknownNameError`, whose text
offers close matches and lists every available name (exit code 2 on the CLI).
Renamed entries keep their old names as aliases that warn.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from avbench.plugins import PluginLoadError, PluginSet, load_plugins
from avbench.specs import DatasetSpec, LandmarkExtractorSpec, MethodSpec, ProtocolSpec, _Spec

S = TypeVar("S", bound=_Spec)


class RegistryError(Exception):
    """Two plugins registered the same name, or a hook returned something that is not a spec."""


class UnknownNameError(LookupError):
    def __init__(self, kind: str, name: str, available: Iterable[str],
                 failures: Iterable[PluginLoadError] = ()):
        self.kind, self.name = kind, name
        self.available = sorted(available)
        self.suggestions = difflib.get_close_matches(name, self.available, n=3, cutoff=0.6)
        self.failures = list(failures)
        lines = [f"Unknown {kind} {name!r}."]
        if self.suggestions:
            lines.append("Did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?")
        lines.append(
            f"Available {kind}s: " + (", ".join(self.available) if self.available else "(none registered)")
        )
        for f in self.failures:
            lines.append(f"Note: {f} (it may have provided {name!r}).")
        super().__init__("\n".join(lines))

    def __str__(self) -> str:  # LookupError would repr() the message
        return self.args[0]


@dataclass
class Kind(Generic[S]):
    """All specs of one kind, by name and alias."""

    label: str
    specs: dict[str, S]
    aliases: dict[str, str]
    failures: list[PluginLoadError]

    def names(self) -> list[str]:
        return sorted(self.specs)

    def get(self, name: str) -> S:
        if name in self.specs:
            return self.specs[name]
        if name in self.aliases:
            new = self.aliases[name]
            warnings.warn(f"{self.label} {name!r} was renamed to {new!r}; the old name will be removed",
                          DeprecationWarning, stacklevel=2)
            return self.specs[new]
        raise UnknownNameError(self.label, name, self.specs, self.failures)

    def __iter__(self):
        return iter(self.specs[n] for n in self.names())

    def __len__(self) -> int:
        return len(self.specs)


_HOOKS: dict[str, tuple[str, type]] = {
    "method": ("avbench_register_methods", MethodSpec),
    "protocol": ("avbench_register_protocols", ProtocolSpec),
    "dataset": ("avbench_register_datasets", DatasetSpec),
    "landmark extractor": ("avbench_register_landmark_extractors", LandmarkExtractorSpec),
}


class Registry:
    """The specs of every loaded plugin, one :class:`Kind` per hook."""

    def __init__(self, plugins: PluginSet):
        self.plugins = plugins
        self.failures: list[PluginLoadError] = plugins.failures
        kinds = {label: self._collect(label, hook, cls) for label, (hook, cls) in _HOOKS.items()}
        self.methods: Kind[MethodSpec] = kinds["method"]
        self.protocols: Kind[ProtocolSpec] = kinds["protocol"]
        self.datasets: Kind[DatasetSpec] = kinds["dataset"]
        self.landmark_extractors: Kind[LandmarkExtractorSpec] = kinds["landmark extractor"]

    def _collect(self, label: str, hook_name: str, cls: type) -> Kind:
        specs: dict[str, _Spec] = {}
        aliases: dict[str, str] = {}
        hook = getattr(self.plugins.manager.hook, hook_name)
        # Call each plugin's implementation on its own, so one plugin raising
        # cannot hide the others, and every spec knows which plugin made it.
        for impl in hook.get_hookimpls():  # registration order
            try:
                result = impl.function() or ()
                for spec in result:
                    if not isinstance(spec, cls):
                        raise RegistryError(f"{hook_name} returned {spec!r}, not a {cls.__name__}")
            except Exception as exc:
                self.failures.append(PluginLoadError(impl.plugin_name, f"hook {hook_name}", exc))
                continue
            for spec in result:
                spec = replace(spec, plugin=impl.plugin_name)
                for key in (spec.name, *spec.aliases):
                    owner = specs.get(key) or specs.get(aliases.get(key, ""))
                    if owner is not None:
                        raise RegistryError(
                            f"{label} name {key!r} is registered twice: by plugin "
                            f"{owner.plugin!r} and by plugin {spec.plugin!r}; rename one of them"
                        )
                specs[spec.name] = spec
                aliases.update({a: spec.name for a in spec.aliases})
        return Kind(label, specs, aliases, self.failures)


def load_registry(extra_modules: Iterable[str] = ()) -> Registry:
    return Registry(load_plugins(extra_modules))
