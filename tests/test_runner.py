"""Run resolution: names, devices, method building, and what stays lazy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from avbench.errors import DatasetError, UsageError
from avbench.registry import load_registry
from avbench.runner import RunRequest, build_method, plan_run, resolve_device
from avbench.specs import InputKind, MethodSpec


def test_plan_resolves_cells_against_the_dataset(tiny_nvfair, monkeypatch):
    reg = load_registry()
    spec = MethodSpec(name="m", summary="", factory="x:y")
    monkeypatch.setitem(reg.methods.specs, "m", spec)
    plan = plan_run(reg, RunRequest(method="m", protocol="cross_gen", data=f"nvfair:{tiny_nvfair}",
                                    device="cpu", profile="paper"))
    assert plan.index.generators == ("facevid2vid", "tps", "lia")
    assert [c.name for c in plan.cells] == ["train_facevid2vid", "train_tps", "train_lia"]
    assert plan.clip_length(plan.cells[0]) == 64
    clip = plan_run(reg, RunRequest(method="m", protocol="clip_length", data=f"nvfair:{tiny_nvfair}",
                                    device="cpu"))
    assert [clip.clip_length(c) for c in clip.cells] == [16, 32, 64, 128]


def test_auto_profile_resolves_by_device_and_the_plan_holds_the_resolved_name(tiny_nvfair, monkeypatch):
    import avbench.runner as runner

    reg = load_registry()
    monkeypatch.setitem(reg.methods.specs, "m", MethodSpec(name="m", summary="", factory="x:y"))
    request = RunRequest(method="m", protocol="overall", data=f"nvfair:{tiny_nvfair}", device="cpu")
    assert request.profile == "auto"  # the default of `avbench run`
    plan = plan_run(reg, request)
    assert plan.request.profile == "quick" and plan.training.clip_length == 16
    assert "--profile quick" in " ".join(plan.request.command_args())  # the stored repeat command
    monkeypatch.setattr(runner, "resolve_device", lambda device: "cuda")  # as on a GPU machine
    plan = plan_run(reg, RunRequest(method="m", protocol="overall", data=f"nvfair:{tiny_nvfair}",
                                    device="auto"))
    assert plan.request.profile == "standard" and plan.training.precision == "bf16-mixed"


def test_plan_fails_on_a_dataset_without_generated_videos(tmp_path, monkeypatch):
    root = tmp_path / "NVFAIR-v2-release" / "CREMA-D" / "originals" / "1002"
    root.mkdir(parents=True)
    (root / "1002_IEO_FEA_LO.mp4").write_bytes(b"")
    reg = load_registry()
    monkeypatch.setitem(reg.methods.specs, "m", MethodSpec(name="m", summary="", factory="x:y"))
    with pytest.raises(DatasetError, match="has no generated videos"):
        plan_run(reg, RunRequest(method="m", protocol="overall", data=f"nvfair:{tmp_path}", device="cpu"))


def test_resolve_device():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "cuda")
    with pytest.raises(UsageError, match="choose one of auto, cpu, cuda"):
        resolve_device("gpu")


def test_build_method_checks_the_factory_and_input_kind():
    with pytest.raises(UsageError, match="not an avbench.method.Method subclass"):
        build_method(MethodSpec(name="bad", summary="", factory="collections:OrderedDict"))
    with pytest.raises(ImportError, match="has no attribute 'Nope'"):
        build_method(MethodSpec(name="bad", summary="", factory="avbench.method:Nope"))
    from test_method import Tiny  # a frames method (tests/ is on the pythonpath)

    with pytest.raises(UsageError, match="spec says input 'landmarks'"):
        build_method(MethodSpec(name="t", summary="", factory=Tiny, input=InputKind.LANDMARKS))
    assert build_method(MethodSpec(name="t", summary="", factory=Tiny), {"width": 3}).config.width == 3


def test_listing_does_not_import_torch_or_model_code():
    code = ("import sys\nfrom avbench.registry import load_registry\nr = load_registry()\n"
            "r.methods.names(); r.protocols.get('overall').cells(('a',))\n"
            "print(sorted(m for m in ('torch', 'pandas', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torch" not in out.stdout


def test_landmark_plan_resolves_extractor_points_and_schedule(tiny_synthetic):
    reg = load_registry()
    data = f"synthetic:{tiny_synthetic}"
    plan = plan_run(reg, RunRequest(method="stgcn", protocol="overall", data=data, device="cpu"))
    assert plan.extractor.name == "mediapipe"  # the method's default
    assert plan.method_overrides == {"extractor": "mediapipe", "n_points": 478}
    # quick is resized for landmark models (cheap): the paper's clip length and batch
    assert (plan.training.clip_length, plan.training.batch_size, plan.training.steps_per_epoch) == (64, 64, 15)
    smoke = plan_run(reg, RunRequest(method="stgcn", protocol="overall", data=data, device="cpu",
                                     profile="smoke", extractor="dataset"))
    assert smoke.training.clip_length == 8  # no override for smoke
    assert smoke.method_overrides == {"extractor": "dataset", "n_points": 68}  # read from the .npy files


def test_unknown_extractor_suggests_names(tiny_synthetic):
    from avbench.registry import UnknownNameError

    with pytest.raises(UnknownNameError, match="mediapipe"):
        plan_run(load_registry(), RunRequest(method="stgcn", protocol="overall", device="cpu",
                                             data=f"synthetic:{tiny_synthetic}", extractor="mediapip"))


def test_extractor_for_a_frame_method_is_a_usage_error(tiny_synthetic):
    with pytest.raises(UsageError, match="--extractor dataset: method 'f5c_featdiff' reads raw frames"):
        plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                             data=f"synthetic:{tiny_synthetic}", extractor="dataset"))


def test_the_stored_command_names_the_database_unless_it_is_the_default(tmp_path, monkeypatch):
    from avbench.results import ResultsStore
    from avbench.runner import db_args

    monkeypatch.chdir(tmp_path)
    assert db_args(ResultsStore()) == []
    assert db_args(ResultsStore(tmp_path / "avbench-results" / "results.sqlite")) == []
    assert db_args(ResultsStore("sweep/results.sqlite")) == ["--db", "sweep/results.sqlite"]
