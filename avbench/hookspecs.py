"""The avbench extension surface: every hook a plugin can implement.

This module *is* the plugin API reference.  A plugin is a module (or package)
exposed through the entry-point group ``avbench`` in its ``pyproject.toml``::

    [project.entry-points.avbench]
    my-plugin = "my_package.my_plugin"

whose functions are named after the hooks below and decorated with
``avbench.hookspecs.hookimpl``.  avbench's own methods, protocols and datasets are
registered through exactly this path.  Every hook is called on all plugins and
all results are collected (no hook is first-result-wins); names must be unique
across plugins, and a duplicate is an error naming both plugins.

Keep the module that implements these hooks light (no torch import at module
level) when you can: it is imported by ``avbench list`` and ``--help``.  Put the
heavy code in the module named by each spec's ``factory``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pluggy

from avbench.specs import DatasetSpec, LandmarkExtractorSpec, MethodSpec, ProtocolSpec

PROJECT = "avbench"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def avbench_register_methods() -> Sequence[MethodSpec]:
    """Return the fingerprinting methods this plugin provides.

    Each :class:`~avbench.specs.MethodSpec` names its method (``family_variant``,
    e.g. ``f5c_featdiff``), its input kind (raw frames or landmarks) and a factory
    that resolves to a :class:`avbench.method.Method` subclass.
    """


@hookspec
def avbench_register_protocols() -> Sequence[ProtocolSpec]:
    """Return the evaluation protocols this plugin provides.

    Each :class:`~avbench.specs.ProtocolSpec` carries its metadata (version, main
    score, citation) and a factory planning the protocol's cells (one trained model
    each, with the evaluations made on it) for the dataset's generators.
    """


@hookspec
def avbench_register_datasets() -> Sequence[DatasetSpec]:
    """Return the dataset layouts this plugin can index.

    A :class:`~avbench.specs.DatasetSpec` named ``foo`` is used on the command line
    as ``--data foo:PATH``; its factory builds a :class:`avbench.data.index.DatasetIndex`.
    """


@hookspec
def avbench_register_landmark_extractors() -> Sequence[LandmarkExtractorSpec]:
    """Return the facial-landmark extractors this plugin provides.

    Used by landmark methods; each :class:`~avbench.specs.LandmarkExtractorSpec`
    gives the number of points it produces and a versioned factory.
    """
