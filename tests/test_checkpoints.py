"""Saved models (avbench/checkpoints.py): safetensors weights plus a JSON sidecar, round trip,
and refusal of every damaged, edited or foreign file without executing anything."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from avbench.checkpoints import (FORMAT, FORMAT_VERSION, LoadedModel, load_checkpoint,
                                 read_checkpoint_meta, save_checkpoint, store_in_half_precision)
from avbench.errors import AvbenchError, CheckpointError
from avbench.registry import load_registry
from avbench.runner import build_method

NAME = "nvfair_ldmk_tcnn"
SMALL = {"n_points": 68, "width": 16, "dilations": (1, 2)}  # a few thousand parameters
META = {"dataset": "nvfair", "dataset_fingerprint": "ab12", "protocol": "cross_gen", "cell": "lia",
        "seed": 0, "run_key": "k1", "profile": "smoke", "training": {"epochs": 1, "betas": [0.9, 0.999]},
        "best_epoch": 1, "val_auc": 0.75, "threshold": 0.125, "git_commit": "deadbeef"}


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def _clips() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return 40 + 30 * torch.rand(3, 16, 68, 2, generator=g)


@pytest.fixture
def trained(registry):
    """A small method whose weights and BatchNorm statistics differ from a fresh build."""
    torch.manual_seed(0)
    method = build_method(registry.methods.get(NAME), SMALL)
    with torch.no_grad():
        for p in method.parameters():
            p.add_(0.1 * torch.randn_like(p))
        method.train()
        method.embed(_clips())  # moves the running statistics
    return method.eval()


@pytest.fixture
def saved(tmp_path, trained) -> Path:
    return save_checkpoint(tmp_path / "run" / "best.safetensors", trained, META, method_name=NAME)


def _sidecar(saved: Path) -> dict:
    return json.loads(saved.with_suffix(".json").read_text())


def _write_sidecar(saved: Path, doc) -> Path:
    path = saved.with_suffix(".json")
    path.write_text(json.dumps(doc))
    return path


def _rewrite_weights(saved: Path, tensors: dict) -> None:
    """Replace the weights and record their new hash, as a consistent (but wrong) checkpoint."""
    data = st_save(tensors)
    saved.write_bytes(data)
    doc = _sidecar(saved)
    doc["weights_sha256"] = hashlib.sha256(data).hexdigest()
    _write_sidecar(saved, doc)


def test_round_trip_gives_identical_weights_and_embeddings(saved, trained, registry):
    loaded = load_checkpoint(saved, registry)
    assert isinstance(loaded, LoadedModel) and loaded.path == saved
    assert not loaded.method.training
    assert loaded.method.config == trained.config  # dilations back as a tuple
    got, want = loaded.method.state_dict(), trained.state_dict()
    assert list(got) == list(want)
    for key in want:
        assert torch.equal(got[key], want[key]), key
    with torch.no_grad():
        assert torch.equal(loaded.method.embed(_clips()), trained.embed(_clips()))


def test_either_file_of_the_pair_names_the_checkpoint(saved, registry):
    assert load_checkpoint(saved.with_suffix(".json"), registry).path == saved
    assert read_checkpoint_meta(saved) == read_checkpoint_meta(saved.with_suffix(".json"))


def test_sidecar_holds_format_method_config_meta_and_hash(saved, trained):
    doc = _sidecar(saved)
    assert doc["format"] == FORMAT == "avbench-checkpoint" and doc["format_version"] == FORMAT_VERSION == 1
    assert doc["method"] == NAME
    assert doc["config"] == {**json.loads(json.dumps(trained.config_dict())), "dilations": [1, 2]}
    assert doc["config"]["n_points"] == 68 and doc["config"]["width"] == 16
    assert {k: doc[k] for k in META} == META
    assert doc["weights_sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert isinstance(doc["avbench_version"], str)
    assert read_checkpoint_meta(saved) == doc


def test_save_leaves_exactly_the_two_files_and_overwrites_in_place(saved, trained):
    save_checkpoint(saved, trained, {**META, "best_epoch": 2}, method_name=NAME)
    assert sorted(os.listdir(saved.parent)) == ["best.json", "best.safetensors"]
    assert _sidecar(saved)["best_epoch"] == 2


def test_tensors_are_stored_on_the_cpu_contiguous_and_unshared(tmp_path, trained):
    trained.out.weight.data = trained.out.weight.data.t().contiguous().t()  # a non-contiguous view
    path = save_checkpoint(tmp_path / "m.safetensors", trained, {}, method_name=NAME)
    tensors = st_load(path.read_bytes())
    assert torch.equal(tensors["out.weight"], trained.out.weight)
    assert all(t.device.type == "cpu" and t.is_contiguous() for t in tensors.values())


def test_tampered_weights_are_refused_naming_the_file(saved, registry):
    data = bytearray(saved.read_bytes())
    data[len(data) // 2] ^= 0x01
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    msg = str(e.value)
    assert msg.startswith(f"{saved}: SHA-256 ")
    assert "does not match" in msg and "recorded in best.json" in msg
    assert "re-run the training or download the checkpoint (both files) again" in msg


def test_unknown_method_says_which_plugin_to_install(saved, registry):
    sidecar = _write_sidecar(saved, {**_sidecar(saved), "method": "no_such_method"})
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(
        f"{sidecar}: method 'no_such_method' is not registered here; install the plugin that provides "
        "it (avbench list methods).")


def test_unknown_config_key_is_named(saved, registry):
    doc = _sidecar(saved)
    doc["config"]["bogus_option"] = 1
    sidecar = _write_sidecar(saved, doc)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(f"{sidecar}: config option(s) bogus_option are not options of "
                                   f"method '{NAME}' as installed")


def test_config_value_of_the_wrong_type_is_refused(saved, registry):
    doc = _sidecar(saved)
    doc["config"]["width"] = "16"
    sidecar = _write_sidecar(saved, doc)
    with pytest.raises(CheckpointError, match="expects int values like 128") as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(f"{sidecar}: config option width='16' is a str")


@pytest.mark.parametrize("version, hint", [(2, "written by a newer avbench; upgrade avbench"),
                                           (0, "not a version any avbench wrote")])
def test_unknown_format_version_is_refused(saved, version, hint):
    sidecar = _write_sidecar(saved, {**_sidecar(saved), "format_version": version})
    with pytest.raises(CheckpointError) as e:
        read_checkpoint_meta(saved)
    assert str(e.value).startswith(f"{sidecar}: format_version {version}, but this avbench reads "
                                   f"version 1: {hint}")


@pytest.mark.parametrize("text, expected", [
    ("[1, 2]", "holds a JSON list, not a JSON object"),
    ("not json", "not valid checkpoint JSON"),
    ('{"format": "avbench-checkpoint", "threshold": NaN}', "NaN is not a JSON number"),
    ('{"format": "avbench-checkpoint", "format": "x"}', "key 'format' appears twice"),
    ('{"format": "other"}', "format is 'other', not 'avbench-checkpoint'"),
])
def test_sidecar_that_is_not_ours_is_refused(saved, text, expected):
    sidecar = saved.with_suffix(".json")
    sidecar.write_text(text)
    with pytest.raises(CheckpointError, match=expected) as e:
        read_checkpoint_meta(saved)
    assert str(e.value).startswith(f"{sidecar}: ")


@pytest.mark.parametrize("key, value, expected", [
    ("method", 3, "method is 3, not a method name"),
    ("config", [1], "config is [1], not a JSON object"),
    ("weights_sha256", "abc", "weights_sha256 is 'abc', not 64 lower-case hex digits"),
    ("format_version", True, "format_version is True, not an integer"),
])
def test_sidecar_fields_are_validated(saved, key, value, expected):
    sidecar = _write_sidecar(saved, {**_sidecar(saved), key: value})
    with pytest.raises(CheckpointError) as e:
        read_checkpoint_meta(saved)
    assert str(e.value).startswith(f"{sidecar}: {expected}")
    with pytest.raises(CheckpointError):
        load_checkpoint(saved)


def test_oversized_sidecar_is_refused(saved):
    _write_sidecar(saved, {**_sidecar(saved), "padding": "x" * 1_000_001})
    with pytest.raises(CheckpointError, match="larger than 1000000 bytes"):
        read_checkpoint_meta(saved)


def test_missing_weights_file_is_named(saved, registry):
    saved.unlink()
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved.with_suffix(".json"), registry)
    assert str(e.value).startswith(f"{saved}: the weights file that best.json describes is missing; "
                                   "re-run the training")


def test_weights_without_sidecar_are_refused(saved, registry):
    saved.with_suffix(".json").unlink()
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(f"{saved.with_suffix('.json')}: no checkpoint sidecar next to "
                                   "best.safetensors")


class _Plant:
    """Unpickling this creates the marker file: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_planted_pickle_is_never_executed(saved, tmp_path, registry):
    marker = tmp_path / "executed"
    payload = pickle.dumps(_Plant(marker))
    # Named like the checkpoint, with a sidecar whose hash matches it: only the parser stands.
    saved.write_bytes(payload)
    doc = _sidecar(saved)
    doc["weights_sha256"] = hashlib.sha256(payload).hexdigest()
    _write_sidecar(saved, doc)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(f"{saved}: not a readable safetensors file")
    # A torch.save-style name is refused by its name alone.
    pt = tmp_path / "best.pt"
    pt.write_bytes(payload)
    with pytest.raises(CheckpointError, match="Pickle-based files .* are never loaded"):
        load_checkpoint(pt, registry)
    assert not marker.exists()


def test_loading_never_calls_an_unpickler(saved, registry, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for module, attr in ((torch, "load"), (pickle, "load"), (pickle, "loads"), (pickle, "Unpickler")):
        monkeypatch.setattr(module, attr, refuse)
    assert load_checkpoint(saved, registry).meta["threshold"] == 0.125


def test_missing_state_dict_key_is_named(saved, registry):
    tensors = st_load(saved.read_bytes())
    del tensors["out.bias"]
    _rewrite_weights(saved, tensors)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    assert str(e.value).startswith(f"{saved}: the weights do not fit method '{NAME}' built from the "
                                   "stored config: missing 1 key(s): out.bias;")


def test_shape_mismatch_and_unexpected_keys_are_named(saved, registry):
    tensors = st_load(saved.read_bytes())
    tensors["extra.weight"] = torch.zeros(2)
    tensors["out.bias"] = torch.zeros(5)
    _rewrite_weights(saved, tensors)
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(saved, registry)
    msg = str(e.value)
    assert "1 unexpected key(s): extra.weight" in msg
    assert "1 shape mismatch(es): out.bias (5,) (method: (128,))" in msg


def test_non_finite_weights_are_refused(saved, registry):
    tensors = st_load(saved.read_bytes())
    tensors["out.bias"][0] = float("nan")
    _rewrite_weights(saved, tensors)
    with pytest.raises(CheckpointError, match=r"tensor\(s\) out.bias hold NaN or Infinity"):
        load_checkpoint(saved, registry)


def test_checkpoint_error_is_a_user_facing_avbench_error():
    assert issubclass(CheckpointError, AvbenchError) and CheckpointError.exit_code == 1


@pytest.mark.parametrize("kwargs, expected", [
    ({"path": "best.pt"}, "must end in .safetensors"),
    ({"meta": {"threshold": float("nan")}}, r"meta\['threshold'\] is nan; JSON has no NaN"),
    ({"meta": {"method": "x"}}, "meta may not set method"),
    ({"meta": {"root": Path("/x")}}, r"meta\['root'\] is a PosixPath"),
])
def test_save_refuses_what_the_sidecar_could_not_hold(tmp_path, trained, kwargs, expected):
    args = {"path": "best.safetensors", "meta": {}, **kwargs}
    with pytest.raises(ValueError, match=expected):
        save_checkpoint(tmp_path / args["path"], trained, args["meta"], method_name=NAME)
    assert os.listdir(tmp_path) == []


def test_half_precision_halves_the_file_and_keeps_the_embeddings(saved, trained, registry):
    full_sha = _sidecar(saved)["weights_sha256"]
    before, after = store_in_half_precision(saved)
    assert before == len(st_save({k: v.contiguous() for k, v in trained.state_dict().items()},
                                 metadata={"format": "pt"}))
    assert after < 0.55 * before and saved.stat().st_size == after
    doc = _sidecar(saved)
    assert doc["weights_dtype"] == "float16" and doc["full_precision_sha256"] == full_sha
    assert doc["weights_sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    stored = st_load(saved.read_bytes())
    assert {t.dtype for k, t in stored.items() if t.is_floating_point()} == {torch.float16}
    assert stored["num_batches_tracked"].dtype == torch.int64 if "num_batches_tracked" in stored else True
    loaded = load_checkpoint(saved, registry)
    assert {p.dtype for p in loaded.method.parameters()} == {torch.float32}
    with torch.no_grad():
        got, want = loaded.method.embed(_clips()), trained.embed(_clips())
    assert torch.allclose(got, want, atol=2e-3)
    assert float((got * want).sum(1).min()) > 0.9999  # unit vectors: the same directions
    assert store_in_half_precision(saved) == (after, after)  # already halved: left as it is
    assert doc == _sidecar(saved)


def test_half_precision_refuses_values_beyond_float16(saved, trained):
    tensors = {k: v.clone().contiguous() for k, v in trained.state_dict().items()}
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name].view(-1)[0] = 1e6
    _rewrite_weights(saved, tensors)
    with pytest.raises(CheckpointError, match=f"tensor {name} holds values beyond float16's range"):
        store_in_half_precision(saved)
