"""The four conditions of each frame family are data: one class, a spec default per registered
name; the ResNet-18 specs carry the reference's 8 x 4 batches."""

from __future__ import annotations

import dataclasses

import pytest
from avbench_methods.f5c import F5CMethod
from avbench_methods.resnet18 import ResNet18Method

from avbench.errors import UsageError
from avbench.registry import load_registry
from avbench.runner import RunRequest, build_method, plan_run
from avbench.specs import MethodSpec

CONDITIONS = ("featdiff", "pixeldiff", "rawfeat", "static")
FAMILIES = {"f5c": F5CMethod, "resnet18": ResNet18Method}


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("condition", CONDITIONS)
def test_each_registered_name_builds_its_condition_of_one_class(family, condition):
    spec = load_registry().methods.get(f"{family}_{condition}")
    assert spec.load() is FAMILIES[family]
    assert spec.defaults == (("condition", condition),)
    assert build_method(spec).config.condition == condition
    assert build_method(spec, {"condition": condition}).config.condition == condition


def test_a_set_value_may_not_contradict_the_registered_variant():
    spec = load_registry().methods.get("f5c_featdiff")
    with pytest.raises(UsageError) as err:
        build_method(spec, {"condition": "static"})
    assert str(err.value) == (
        "--set condition='static': method 'f5c_featdiff' is the variant with "
        "condition='featdiff'; choose the method registered for the variant you want "
        "(`avbench list methods`) instead of overriding it")
    model = build_method(spec, {"fusion": True, "ccc": "edgeconv"})  # the paper text's reading
    assert (model.config.condition, model.config.fusion, model.config.ccc) == ("featdiff", True,
                                                                              "edgeconv")


def test_spec_defaults_accept_a_dict_and_stay_hashable():
    spec = MethodSpec(name="x", summary="", factory="a:b", defaults={"condition": "static", "k": 2})
    assert spec.defaults == (("condition", "static"), ("k", 2))
    hash(spec)
    assert spec.config_overrides({"k": 2, "dropout": 0}) == {"condition": "static", "k": 2,
                                                            "dropout": 0}


def test_resnet18_specs_train_on_8_x_4_batches_in_the_paper_and_standard_profiles():
    methods = load_registry().methods
    for condition in CONDITIONS:
        spec = methods.get(f"resnet18_{condition}")
        for profile in ("paper", "standard"):
            assert spec.schedule_overrides(profile) == {"identities_per_batch": 8,
                                                        "videos_per_identity": 4}
        assert spec.schedule_overrides("quick") == {}
        assert methods.get(f"f5c_{condition}").schedule_overrides("paper") == {}


def test_the_plan_resolves_the_variant_and_the_batch_once(tiny_nvfair):
    reg = load_registry()
    data = f"nvfair:{tiny_nvfair}"
    plan = plan_run(reg, RunRequest(method="resnet18_static", protocol="overall", data=data,
                                    device="cpu", profile="paper"))
    assert plan.method_overrides == {"condition": "static"}
    assert (plan.training.identities_per_batch, plan.training.videos_per_identity) == (8, 4)
    stored = dataclasses.asdict(plan.method.load().Config(**plan.method_overrides))  # the run key's
    assert stored["condition"] == "static" and stored["head"] == "mlp"
    f5c = plan_run(reg, RunRequest(method="f5c_pixeldiff", protocol="overall", data=data,
                                   device="cpu", profile="paper", method_overrides={"fusion": True}))
    assert f5c.method_overrides == {"condition": "pixeldiff", "fusion": True}
    assert (f5c.training.identities_per_batch, f5c.training.videos_per_identity) == (16, 8)
    with pytest.raises(UsageError, match="method 'f5c_pixeldiff' is the variant with "
                                         "condition='pixeldiff'"):
        plan_run(reg, RunRequest(method="f5c_pixeldiff", protocol="overall", data=data,
                                 device="cpu", method_overrides={"condition": "rawfeat"}))


def test_a_spec_default_naming_no_config_field_is_a_plan_error(tiny_nvfair, monkeypatch):
    reg = load_registry()
    spec = MethodSpec(name="bad", summary="", factory="avbench_methods.f5c:F5CMethod",
                      defaults={"conditon": "static"})
    monkeypatch.setitem(reg.methods.specs, "bad", spec)
    with pytest.raises(UsageError, match="method 'bad' \\(plugin ''\\): its spec's defaults name "
                                         "conditon, which its Config does not have; fix the spec"):
        plan_run(reg, RunRequest(method="bad", protocol="overall", data=f"nvfair:{tiny_nvfair}",
                                 device="cpu"))
