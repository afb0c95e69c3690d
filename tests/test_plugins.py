"""Plugin discovery and the registry: entry points, failures, names, aliases."""

from __future__ import annotations

import importlib

import pytest

from avbench.plugins import load_plugins
from avbench.registry import Registry, RegistryError, UnknownNameError, load_registry
from helpers import make_plugin_dist

TOY_METHOD = """
from avbench.hookspecs import hookimpl
from avbench.specs import InputKind, MethodSpec

@hookimpl
def avbench_register_methods():
    return [MethodSpec(name="toy_method", summary="toy", factory="toy_model:Toy",
                       input=InputKind.FRAMES, aliases=("toy_old",))]
"""

BROKEN = """
raise ImportError("this plugin needs a package that is not installed")
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    path = tmp_path / "site"
    monkeypatch.syspath_prepend(str(path))
    yield path
    importlib.invalidate_caches()


def test_builtins_are_loaded_through_the_entry_point_group():
    reg = load_registry()
    loaded = {p.name: p for p in reg.plugins.loaded}
    assert {"avbench-methods", "avbench-protocols", "avbench-nvfair", "avbench-avaprintdb",
            "avbench-synthetic"} <= set(loaded)
    assert loaded["avbench-protocols"].distribution == "avbench"
    assert reg.protocols.names() == ["clip_length", "clip_length_originals", "cross_dataset", "cross_gen",
                                     "multi_clip", "overall", "overall_originals", "per_gen",
                                     "per_gen_originals", "robustness"]
    assert reg.datasets.names() == ["avaprintdb", "nvfair", "synthetic"]
    assert reg.protocols.get("overall").plugin == "avbench-protocols"
    assert reg.failures == []


def test_third_party_entry_point_is_discovered(site):
    make_plugin_dist(site, "toy-plugin", {"toy_plugin": TOY_METHOD}, {"toy": "toy_plugin"})
    importlib.invalidate_caches()
    reg = load_registry()
    spec = reg.methods.get("toy_method")
    assert spec.plugin == "toy" and spec.factory == "toy_model:Toy"
    assert any(p.name == "toy" and p.distribution == "toy-plugin" and p.version == "0.0.1"
               for p in reg.plugins.loaded)


def test_failing_plugin_is_named_and_others_keep_working(site):
    make_plugin_dist(site, "broken-plugin", {"broken_plugin": BROKEN}, {"broken": "broken_plugin"})
    importlib.invalidate_caches()
    reg = load_registry()
    assert [f.plugin for f in reg.failures] == ["broken"]
    failure = reg.failures[0]
    assert "entry point broken = broken_plugin" in str(failure)
    assert "needs a package that is not installed" in str(failure)
    assert isinstance(failure.__cause__, ImportError)
    assert "overall" in reg.protocols.names()  # the built-ins still work
    with pytest.raises(UnknownNameError) as info:
        reg.methods.get("anything")
    assert "plugin 'broken'" in str(info.value)  # the unknown-name error points at the failure


def test_plugin_whose_hook_raises_is_reported(site):
    src = ("from avbench.hookspecs import hookimpl\n"
           "@hookimpl\ndef avbench_register_protocols():\n    raise RuntimeError('boom')\n")
    make_plugin_dist(site, "raiser", {"raiser_plugin": src}, {"raiser": "raiser_plugin"})
    importlib.invalidate_caches()
    reg = load_registry()
    assert [(f.plugin, type(f.cause)) for f in reg.failures] == [("raiser", RuntimeError)]
    assert "overall" in reg.protocols.names()


def test_bad_hook_signature_is_a_load_failure(site):
    src = ("from avbench.hookspecs import hookimpl\n"
           "@hookimpl\ndef avbench_register_methods(unexpected):\n    return []\n")
    make_plugin_dist(site, "badsig", {"badsig_plugin": src}, {"badsig": "badsig_plugin"})
    importlib.invalidate_caches()
    reg = load_registry()
    assert [f.plugin for f in reg.failures] == ["badsig"]
    assert "unexpected" in str(reg.failures[0])


def test_duplicate_names_fail_loudly_naming_both_plugins(site):
    src = ("from avbench.hookspecs import hookimpl\nfrom avbench.specs import ProtocolSpec\n"
           "@hookimpl\ndef avbench_register_protocols():\n"
           "    return [ProtocolSpec(name='overall', summary='mine', factory='x:y')]\n")
    make_plugin_dist(site, "dupe", {"dupe_plugin": src}, {"dupe": "dupe_plugin"})
    importlib.invalidate_caches()
    with pytest.raises(RegistryError, match=r"'overall' is registered twice.*'avbench-protocols'.*'dupe'"):
        load_registry()


def test_unknown_name_suggests_and_lists():
    reg = load_registry()
    with pytest.raises(UnknownNameError) as info:
        reg.protocols.get("cross-gen")
    text = str(info.value)
    assert "Unknown protocol 'cross-gen'." in text
    assert "Did you mean 'cross_gen'?" in text
    assert ("Available protocols: clip_length, clip_length_originals, cross_dataset, cross_gen, multi_clip, "
            "overall, overall_originals, per_gen, per_gen_originals, robustness") in text


def test_alias_warns_and_resolves(site):
    make_plugin_dist(site, "toy-plugin", {"toy_plugin": TOY_METHOD}, {"toy": "toy_plugin"})
    importlib.invalidate_caches()
    reg = load_registry()
    with pytest.warns(DeprecationWarning, match="renamed to 'toy_method'"):
        assert reg.methods.get("toy_old").name == "toy_method"


def test_autoload_can_be_disabled_and_plugins_named(monkeypatch):
    monkeypatch.setenv("AVBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert Registry(load_plugins()).protocols.names() == []
    monkeypatch.setenv("AVBENCH_PLUGINS", "avbench-protocols")
    reg = Registry(load_plugins())
    assert reg.protocols.names() == ["clip_length", "clip_length_originals", "cross_dataset", "cross_gen",
                                     "multi_clip", "overall", "overall_originals", "per_gen",
                                     "per_gen_originals", "robustness"]
    assert reg.datasets.names() == []


def test_module_can_be_registered_without_entry_point(site):
    site.mkdir(parents=True, exist_ok=True)
    (site / "loose_plugin.py").write_text(TOY_METHOD)
    reg = load_registry(["loose_plugin"])
    assert reg.methods.get("toy_method").plugin == "loose_plugin"
    reg = load_registry(["no_such_module_xyz"])
    assert "module no_such_module_xyz" in str(reg.failures[0])


DECORATED = '''
import torch
import torch.nn.functional as F
from dataclasses import dataclass

from avbench.method import LandmarkConfig, Method, register_method
from avbench.specs import InputKind


@register_method("mean_shape", summary="the mean landmark shape of a clip, projected")
@register_method("mean_shape_wide", defaults={"embedding_dim": 32})
class MeanShape(Method):
    """Mean landmark shape."""

    input_kind = InputKind.LANDMARKS

    @dataclass(frozen=True)
    class Config(LandmarkConfig):
        embedding_dim: int = 16
        temperature: float = 0.07

    def __init__(self, config=None):
        super().__init__(config)
        self.project = torch.nn.Linear(2 * self.config.n_points, self.config.embedding_dim)

    def embed(self, clips):
        return F.normalize(self.project(clips[..., :2].mean(1).flatten(1)), dim=1)
'''


def test_a_decorated_class_is_a_whole_plugin(run_cli, tmp_path):
    """One class plus one line: the input kind comes from the class, no hook function."""
    site = make_plugin_dist(tmp_path / "site", "mean-shape", {"mean_shape_plugin": DECORATED},
                            {"mean-shape": "mean_shape_plugin"})
    r = run_cli("list", "methods", "--json", pythonpath=[site])
    assert r.returncode == 0, r.stderr
    import json

    methods = {m["name"]: m for m in json.loads(r.stdout)}
    assert methods["mean_shape"] == {"name": "mean_shape", "input": "landmarks", "plugin": "mean-shape",
                                     "summary": "the mean landmark shape of a clip, projected"}
    assert methods["mean_shape_wide"]["summary"] == "Mean landmark shape."
    script = ("from avbench.testing import check_method\n"
              "r = check_method('mean_shape_wide')\n"
              "print(r.embedding_dim, r.passed[-1])\n")
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": f"{site}:{os.environ.get('PYTHONPATH', '')}"}
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip() == "32 survives the checkpoint format"


def test_register_method_refuses_a_class_that_is_not_a_method():
    import pytest

    from avbench.method import register_method

    with pytest.raises(TypeError, match="@register_method\\('x'\\) decorates .* not an avbench.method.Method subclass"):
        register_method("x")(dict)
