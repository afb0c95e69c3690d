"""The training step runs under the run's precision (Fabric does not do it for ``loss``)."""

from __future__ import annotations

import math

import pytest
import torch
from lightning_fabric import Fabric

from avbench.bench.model import random_input
from avbench.bench.suite import build_for_bench
from avbench.registry import load_registry
from avbench.training import lr_factor, train_step


def test_mixed_precision_reaches_the_marked_loss_method():
    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    seen = []
    method.backbone.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    model, optimizer = fabric.setup(method, torch.optim.AdamW(method.parameters()))
    model.mark_forward_method("loss")
    clips, drivers, targets = random_input(method, 16, 4, "cpu")
    before = [p.detach().clone() for p in method.parameters()]
    result = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0).result()
    # One backbone call on all B * T frames (BatchNorm statistics per time step inside it).
    assert seen == [torch.bfloat16] and result.applied and math.isfinite(result.loss)
    assert any(not torch.equal(b, p) for b, p in zip(before, method.parameters()))  # a real step


def test_lr_schedule_warms_up_then_decays():
    assert lr_factor(0, 10, 100) == 0.1 and lr_factor(9, 10, 100) == 1.0
    assert lr_factor(10, 10, 100) == 1.0 and abs(lr_factor(55, 10, 100) - 0.5) < 1e-12
    assert lr_factor(100, 10, 100) == 0.0


def _poison(parameter: torch.Tensor, steps: set[int] | None) -> None:
    """Make ``parameter``'s gradient infinite at the given backward passes (1-based; None: all)."""
    calls = [0]

    def hook(grad):
        calls[0] += 1
        return grad * math.inf if steps is None or calls[0] in steps else grad

    parameter.register_hook(hook)


@pytest.mark.parametrize("fused", [False, True], ids=["default AdamW", "fused AdamW"])
def test_a_step_with_an_infinite_gradient_is_skipped_and_the_next_one_applies(fused):
    """Without a gradient scaler: the default AdamW is not stepped (decided on the host); fused
    AdamW (GPUs) is stepped with the overflow flag, computed on the device, and skips itself."""
    method = build_for_bench(load_registry(), "nvfair_ldmk_tcnn", 478)
    fabric = Fabric(accelerator="cpu", devices=1, precision="32-true")
    model, optimizer = fabric.setup(method, torch.optim.AdamW(method.parameters(), fused=fused))
    model.mark_forward_method("loss")
    _poison(next(method.parameters()), {1})
    clips, drivers, targets = random_input(method, 8, 16, "cpu")
    before = [p.detach().clone() for p in method.parameters()]
    first = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0).result()
    assert not first.applied and math.isinf(first.grad_norm) and math.isfinite(first.loss)
    assert all(torch.equal(b, p) for b, p in zip(before, method.parameters()))  # nothing applied
    state = optimizer.state_dict()["state"]  # AdamW's moments were not fed an inf either
    if fused:  # stepped with the flag set: its state exists, untouched, its step count still 0
        assert state and all(float(s["step"]) == 0 and not s["exp_avg"].any() and not s["exp_avg_sq"].any()
                             for s in state.values())
    else:  # not stepped at all
        assert not state
    assert not hasattr(getattr(optimizer, "optimizer", optimizer), "found_inf")
    second = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0).result()
    assert second.applied and math.isfinite(second.grad_norm)
    assert all(torch.isfinite(p).all() for p in method.parameters())
    assert any(not torch.equal(b, p) for b, p in zip(before, method.parameters()))


def _cell(tmp_path, interrupt_at: int | None = None, poison: set[int] | None | bool = False,
          on_step=None, messages: list | None = None, resume: bool = True, lines: list | None = None):
    """Train the NVFAIR landmark TCNN on random landmark tracks (fast on CPU) for 3 epochs.

    ``on_step(step)`` runs after every optimiser step; ``messages`` collects the progress texts."""
    import numpy as np
    import pandas as pd

    from avbench.config import TrainingConfig
    from avbench.data.loader import ClipSource
    from avbench.specs import InputKind
    from avbench.training import make_fabric, train_cell

    rng = np.random.default_rng(0)
    labels = [f"v{i}" for i in range(24)]
    arrays = {lb: rng.normal(size=(20, 478, 3)).astype(np.float32) * 10 + 64 for lb in labels}
    videos = pd.DataFrame({"driver": [f"d{i % 4}" for i in range(24)],
                           "target": [f"t{i % 3}" for i in range(24)],
                           "generator": "tps", "kind": "cross", "is_original": False}, index=labels)
    source = ClipSource(arrays, InputKind.LANDMARKS)
    cfg = TrainingConfig(clip_length=8, identities_per_batch=4, videos_per_identity=2, epochs=3,
                         steps_per_epoch=2, warmup_epochs=1, val_every=10, precision="32-true")
    torch.manual_seed(0)
    method = build_for_bench(load_registry(), "nvfair_ldmk_tcnn", 478)
    if poison is not False:
        _poison(next(method.parameters()), poison)

    def progress(step, total, msg, line=None):
        if messages is not None:
            messages.append(msg)
        if line and lines is not None:
            lines.append(line)
        if on_step is not None:
            on_step(step)
        if step == interrupt_at:
            raise KeyboardInterrupt  # as Ctrl-C would, mid-epoch

    result = train_cell(method, make_fabric("cpu", "32-true"), videos, videos.iloc[:0], source, cfg, 8, 0,
                        tmp_path / "best.ckpt", progress=progress, identity="run-key", resume=resume)
    return method, result


def test_an_interrupted_cell_resumes_to_the_uninterrupted_result(tmp_path):
    import pytest

    from avbench.training import progress_path

    reference, ref_result = _cell(tmp_path / "plain")
    with pytest.raises(KeyboardInterrupt):
        _cell(tmp_path / "resumed", interrupt_at=5)  # epoch 3 of 3, after epochs 1-2 were saved
    saved = torch.load(progress_path(tmp_path / "resumed" / "best.ckpt"), weights_only=False)
    assert saved["epoch"] == 2 and saved["step"] == 4
    resumed, result = _cell(tmp_path / "resumed")
    assert [h["loss"] for h in result.history] == [h["loss"] for h in ref_result.history]
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_progress_of_another_run_is_not_resumed(tmp_path):
    from avbench.training import progress_path

    _cell(tmp_path)
    state = torch.load(progress_path(tmp_path / "best.ckpt"), weights_only=False)
    state["identity"] = "another run"
    torch.save(state, progress_path(tmp_path / "best.ckpt"))
    _, result = _cell(tmp_path)  # trains all 3 epochs again instead of skipping them
    assert [h["epoch"] for h in result.history] == [1, 2, 3]


def test_a_resumed_cell_counts_the_training_time_of_every_part(tmp_path):
    import time

    def slow_first_epoch(step):
        if step <= 2:
            time.sleep(1.0)  # the two steps of epoch 1: its saved part lasts at least 2 s

    with pytest.raises(KeyboardInterrupt):
        _cell(tmp_path, interrupt_at=3, on_step=slow_first_epoch)  # after epoch 1 was saved
    started = time.perf_counter()
    _, result = _cell(tmp_path)  # epochs 2-3, fast
    second_part = time.perf_counter() - started
    assert result.resumed_after_epoch == 1 and result.resumes == 1
    assert result.wall_time_s >= 2.0  # the first part's saved epoch counts, not only the last part
    assert result.wall_time_s >= result.parts[1]["wall_time_s"] + 2.0
    assert result.parts[1]["wall_time_s"] <= second_part
    assert [(p["first_epoch"], p["last_epoch"]) for p in result.parts] == [(1, 1), (2, 3)]


def test_a_cell_trained_in_one_go_reports_one_part_and_no_resume(tmp_path):
    from avbench.training import resume_environment

    _, result = _cell(tmp_path)
    assert result.resumes == 0 and len(result.parts) == 1
    assert result.wall_time_s == result.parts[0]["wall_time_s"]
    assert resume_environment(result) == {}  # rows of uninterrupted runs carry no resume keys


def test_resuming_with_another_thread_count_says_so_and_records_both(tmp_path):
    from avbench.training import ResumeWarning, resume_environment

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with pytest.raises(KeyboardInterrupt):
            _cell(tmp_path, interrupt_at=3)  # after epoch 1 was saved, with 2 threads
        torch.set_num_threads(1)
        with pytest.warns(ResumeWarning) as caught:
            _, result = _cell(tmp_path)
    finally:
        torch.set_num_threads(threads)
    notes = [str(w.message) for w in caught if issubclass(w.category, ResumeWarning)]
    assert len(notes) == 1
    message = notes[0]
    assert message.startswith(f"{tmp_path / 'last.ckpt'}: resuming after epoch 1, saved by a run with "
                              "2 torch threads on cpu; this run has 1 torch thread on cpu.")
    assert "OMP_NUM_THREADS=2" in message and "--force" in message  # the two ways to an exact result
    assert [(p["torch_threads"], p["device"]) for p in result.parts] == [(2, "cpu"), (1, "cpu")]
    env = resume_environment(result)
    assert env["resumed_from_torch_threads"] == 2 and env["resumed_from_device"] == "cpu"
    assert env["resumes"] == 1 and env["training_parts"] == result.parts


def test_resuming_with_the_same_thread_count_does_not_warn(tmp_path):
    import warnings

    from avbench.training import ResumeWarning

    with pytest.raises(KeyboardInterrupt):
        _cell(tmp_path, interrupt_at=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResumeWarning)
        _, result = _cell(tmp_path)
    assert result.resumed_after_epoch == 1


@pytest.mark.parametrize("parts", [None, "junk", [{"torch_threads": "2", "wall_time_s": "1e9"}]],
                         ids=["not-recorded", "not-a-list", "wrong-types"])
def test_saved_parts_that_are_missing_or_malformed_count_as_unknown(parts, tmp_path):
    import warnings

    from avbench.training import ResumeWarning, progress_path

    with pytest.raises(KeyboardInterrupt):
        _cell(tmp_path, interrupt_at=3)
    path = progress_path(tmp_path / "best.ckpt")
    state = torch.load(path, weights_only=True)
    if parts is None:
        del state["parts"]  # a state saved before parts were recorded
    else:
        state["parts"] = parts
    torch.save(state, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResumeWarning)  # nothing known to compare: no note
        _, result = _cell(tmp_path)
    assert result.resumes == 1 and result.parts[0]["torch_threads"] is None
    assert result.parts[0]["wall_time_s"] is None
    assert result.wall_time_s == result.parts[1]["wall_time_s"]  # the part whose time is known


def test_without_resume_the_saved_state_of_a_finished_run_is_discarded(tmp_path):
    """A kill between storing a cell's rows and deleting its last.ckpt leaves the state of
    the finished training; --force (``resume=False``) must train from epoch 1 again."""
    import shutil

    from avbench.training import progress_path

    _cell(tmp_path / "done")
    finished = torch.load(progress_path(tmp_path / "done" / "best.ckpt"), weights_only=True)
    assert finished["epoch"] == 3  # what the kill leaves behind
    (tmp_path / "again").mkdir()
    shutil.copy(progress_path(tmp_path / "done" / "best.ckpt"), tmp_path / "again" / "last.ckpt")
    messages: list[str] = []
    _, result = _cell(tmp_path / "again", messages=messages, resume=False)
    assert result.resumed_after_epoch == 0 and result.resumes == 0
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert not any("resumed" in m for m in messages)
    assert messages[0] == "saved training state discarded; training from epoch 1"
    assert sum(m.startswith("epoch 1 loss") for m in messages) == 2  # both steps of epoch 1 ran


def test_a_cell_skips_an_overflowing_step_counts_it_and_finishes(tmp_path):
    _, clean = _cell(tmp_path / "clean")
    method, result = _cell(tmp_path / "poisoned", poison={3})  # step 1 of epoch 2
    assert result.skipped_steps == 1 and clean.skipped_steps == 0
    assert [h["skipped_steps"] for h in result.history] == [0, 1, 0]
    import pandas as pd

    curve = pd.read_csv(tmp_path / "poisoned" / "history.csv")  # beside the checkpoint
    assert list(curve["epoch"]) == [1, 2, 3] and list(curve["skipped_steps"]) == [0, 1, 0]
    assert {"loss", "lr", "clips_per_s"} <= set(curve.columns) and (curve["clips_per_s"] > 0).all()
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    assert all(torch.isfinite(p).all() for p in method.state_dict().values())
    assert math.isfinite(result.history[1]["loss"])  # the epoch's mean leaves the skipped step out


def test_a_loss_that_stays_non_finite_stops_the_cell_with_what_to_try(tmp_path):
    from avbench.errors import TrainingError
    from avbench.training import MAX_SKIPPED_IN_A_ROW

    assert MAX_SKIPPED_IN_A_ROW > 2 * 3  # the cell below has 6 steps: make them all overflow
    with pytest.raises(TrainingError) as caught:
        _cell_long(tmp_path, steps=MAX_SKIPPED_IN_A_ROW + 5)
    message = str(caught.value)
    assert f"{MAX_SKIPPED_IN_A_ROW} optimiser steps in a row were skipped in epoch" in message
    assert f"up to step {MAX_SKIPPED_IN_A_ROW})" in message
    assert "--precision bf16-mixed" in message and "--train lr=" in message


def _cell_long(tmp_path, steps: int):
    """A one-epoch cell of ``steps`` steps whose every gradient is infinite."""
    import numpy as np
    import pandas as pd

    from avbench.config import TrainingConfig
    from avbench.data.loader import ClipSource
    from avbench.specs import InputKind
    from avbench.training import make_fabric, train_cell

    rng = np.random.default_rng(0)
    labels = [f"v{i}" for i in range(8)]
    arrays = {lb: rng.normal(size=(12, 478, 3)).astype(np.float32) for lb in labels}
    videos = pd.DataFrame({"driver": [f"d{i % 2}" for i in range(8)], "target": "t0",
                           "generator": "tps", "kind": "cross", "is_original": False}, index=labels)
    cfg = TrainingConfig(clip_length=8, identities_per_batch=2, videos_per_identity=2, epochs=1,
                         steps_per_epoch=steps, warmup_epochs=1, val_every=10, precision="32-true")
    method = build_for_bench(load_registry(), "nvfair_ldmk_tcnn", 478)
    _poison(next(method.parameters()), None)
    return train_cell(method, make_fabric("cpu", "32-true"), videos, videos.iloc[:0],
                      ClipSource(arrays, InputKind.LANDMARKS), cfg, 8, 0, tmp_path / "best.ckpt",
                      identity="run-key")


def _fp16_steps(method, fabric, device: str, poisoned_pass: int) -> tuple[list, list]:
    """Four FP16 steps with loss scaling; the scale is set to 256 after the first (so that
    only the poisoned backward pass can overflow); returns the steps and the scale after each."""
    from avbench.config import TrainingConfig
    from avbench.training import grad_scaler, make_optimizer

    model, optimizer = fabric.setup(method, make_optimizer(method, TrainingConfig(), device))
    model.mark_forward_method("loss")
    _poison(next(method.parameters()), {poisoned_pass})
    clips, drivers, targets = random_input(method, 8, 16, device)
    scaler = grad_scaler(fabric)
    results, scales = [], []
    for i in range(4):
        results.append(train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0).result())
        if i == 0:
            scaler.update(new_scale=256.0)
        scales.append(scaler.get_scale())
    return results, scales


def test_fp16_loss_scaling_skips_an_overflowing_step_and_halves_the_scale():
    """The FP16 path of the training step on a CPU (a CPU gradient scaler through Fabric's
    mixed-precision plugin): an overflow is skipped by the scaler, never raised."""
    from lightning_fabric.plugins.precision import MixedPrecision

    method = build_for_bench(load_registry(), "nvfair_ldmk_tcnn", 478)
    fabric = Fabric(accelerator="cpu", devices=1,
                    plugins=MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu")))
    results, scales = _fp16_steps(method, fabric, "cpu", poisoned_pass=3)
    assert [r.applied for r in results[1:]] == [True, False, True]
    assert math.isinf(results[2].grad_norm) and math.isfinite(results[2].loss)
    assert scales[1:] == [256.0, 128.0, 128.0]
    assert all(torch.isfinite(p).all() for p in method.parameters())


@pytest.mark.gpu
def test_fp16_overflow_lowers_the_scale_and_training_goes_on():
    """The same on a GPU with F5C, through the training's own Fabric (``make_fabric``)."""
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    from avbench.training import make_fabric

    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    results, scales = _fp16_steps(method, make_fabric("cuda", "16-mixed"), "cuda", poisoned_pass=3)
    assert [r.applied for r in results[1:]] == [True, False, True]
    assert scales[1:] == [256.0, 128.0, 128.0]
    assert all(torch.isfinite(p).all() for p in method.parameters())


class _Planted:
    """Unpickling this would create ``path``: what a hostile last.ckpt could do."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_planted_pickle_as_saved_progress_is_never_executed(tmp_path):
    from avbench.errors import TrainingError
    from avbench.training import progress_path

    marker = tmp_path / "code-ran"
    torch.save({"identity": "run-key", "payload": _Planted(marker)}, progress_path(tmp_path / "best.ckpt"))
    with pytest.raises(TrainingError) as caught:
        _cell(tmp_path)
    assert not marker.exists()
    assert str(caught.value).startswith(f"{progress_path(tmp_path / 'best.ckpt')}: not a training state "
                                        "avbench can load safely (UnpicklingError); it was not unpickled")
    assert "Delete it to train this cell from the start." in str(caught.value)


def test_every_epoch_reports_one_summary_line(tmp_path):
    from avbench.training import epoch_line

    record = {"epoch": 3, "loss": 3.3124, "lr": 8.1e-4, "skipped_steps": 0, "clips_per_s": 1213.4,
              "val_auc": 0.7718}
    assert epoch_line(record, 6) == "epoch 3/6: loss 3.312, val AUC 0.772, lr 8.1e-04, 1,213 clips/s, 0 skipped steps"
    no_val = {**record, "val_auc": None, "skipped_steps": 2}
    assert epoch_line(no_val, 6) == "epoch 3/6: loss 3.312, lr 8.1e-04, 1,213 clips/s, 2 skipped steps"

    seen = []
    _cell(tmp_path / "c", lines=seen)
    assert [ln.split(":")[0] for ln in seen] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("clips/s" in ln and "skipped steps" in ln for ln in seen)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["16-mixed", "bf16-mixed"])
def test_a_training_step_queues_without_waiting_for_the_gpu(precision):
    """With fused AdamW, forward, backward, unscaling (FP16), clipping, the skip decision and
    the update all stay on the device: the host reads a step's loss and norm later (the
    training loop: after queueing the next step), so the GPU never idles."""
    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    from avbench.config import TrainingConfig
    from avbench.training import make_fabric, make_optimizer

    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    fabric = make_fabric("cuda", precision)
    model, optimizer = fabric.setup(method, make_optimizer(method, TrainingConfig(), "cuda"))
    model.mark_forward_method("loss")
    clips, drivers, targets = random_input(method, 8, 16, "cuda")
    assert train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0).result().applied
    torch.cuda.set_sync_debug_mode("error")  # any host sync now raises
    try:
        pending = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert pending.result().applied and math.isfinite(pending.result().loss)
    # Reading a step waits for that step only, not for work queued after it (here about a
    # second of GPU spinning): the next step stays queued while the host reads this one.
    pending = train_step(model, optimizer, fabric, clips, drivers, targets, grad_clip=1.0)
    torch.cuda._sleep(2_000_000_000)
    assert pending.result().applied
    assert not torch.cuda.current_stream().query()  # the GPU is still busy with what followed
    torch.cuda.synchronize()


def test_compile_method_traces_f5c_s_embed_as_one_graph(monkeypatch):
    """``--compile`` compiles ``embed`` whole (clip normalisation, backbone, differencing and
    head in one graph: no graph breaks, so they fuse), with the same embeddings and the same
    state dict keys (checkpoints load either way).  Traced with dynamo's eager backend: the
    graph is what is checked, not the generated code."""
    import functools

    import torch._dynamo
    from torch._dynamo.utils import counters

    from avbench.training import compile_method

    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    method = build_for_bench(load_registry(), "f5c_featdiff", 478).eval()
    keys = list(method.state_dict())
    clips = torch.rand(2, 4, 1, 128, 128)
    with torch.no_grad():
        plain = method.embed(clips)
        compile_method(method)
        compiled = method.embed(clips)
    assert dict(counters["graph_break"]) == {}
    assert counters["stats"]["unique_graphs"] == 1
    torch.testing.assert_close(compiled, plain, rtol=0, atol=0)
    assert list(method.state_dict()) == keys
    torch._dynamo.reset()
