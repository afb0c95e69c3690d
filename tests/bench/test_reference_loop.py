"""The reference's per-frame training loop, kept as the baseline of the speed-up ratio: it computes
the same function as the batched model, and its records carry the ratio."""

from __future__ import annotations

import pytest
import torch

from avbench.bench.model import ModelBench, train_throughput
from avbench.bench.reference import (add_ratios, reference_embed, reference_infer_throughput,
                                     reference_train_throughput, supports_reference)
from avbench.bench.suite import build_for_bench
from avbench.registry import load_registry

TINY = ModelBench(batch=16, clip_length=4, steps=1, warmup=0, precision="32-true")


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_the_per_frame_loop_and_the_batched_model_give_the_same_embeddings(mode):
    """One backbone call per frame (the reference) and one call on all B x T frames (avbench)
    are the same function, in training (per-time-step BatchNorm) and in evaluation."""
    torch.manual_seed(0)
    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    getattr(method, mode)()
    clips = torch.rand(4, 6, 1, 128, 128)
    with torch.no_grad():
        torch.manual_seed(1)  # the head's dropout draws the same mask in both
        batched = method.embed(clips)
        torch.manual_seed(1)
        looped = reference_embed(method, clips)
    assert batched.shape == looped.shape == (4, 256)
    torch.testing.assert_close(batched, looped, rtol=1e-4, atol=1e-5)


def test_only_f5c_like_featdiff_methods_have_a_reference():
    reg = load_registry()
    assert supports_reference(build_for_bench(reg, "f5c_featdiff", 478))
    assert not supports_reference(build_for_bench(reg, "f5c_pixeldiff", 478))
    assert not supports_reference(build_for_bench(reg, "nvfair_ldmk_tcnn", 478))


def test_reference_records_and_the_ratio():
    reg = load_registry()
    ref_train = reference_train_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", TINY, "cpu")
    ref_infer = reference_infer_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", TINY, "cpu")
    assert ref_train["benchmark"] == "reference_train" and ref_infer["benchmark"] == "reference_infer"
    assert ref_train["precision"] == "16-mixed" and ref_train["compile"] is False
    assert ref_train["clips_per_s"] > 0 and ref_train["flops_per_step"] > 0
    ours = train_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", TINY, "cpu")
    [ours_with_ratio, *_] = add_ratios([ours, ref_train, ref_infer])
    assert ours_with_ratio["vs_reference"] == pytest.approx(ours["clips_per_s"] / ref_train["clips_per_s"])
    assert "vs_reference" not in ref_train


@pytest.mark.gpu
def test_the_optimised_model_embeds_as_the_plain_one_on_the_gpu(monkeypatch):
    """On a GPU ccc runs as fused kernels, the first conv as space-to-depth, and torch.compile
    fuses the rest: the embeddings stay those of the plain model to 1e-4.  (Not to 1e-6: the
    kernels sum the similarities in another order, so a position whose 4th and 5th most similar
    positions tie within float32 rounding can take the other one; measured on an H200, 2.1e-5 at
    most on these clips.)"""
    import avbench_methods.f5c as f5c
    from avbench.training import compile_method

    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    method = build_for_bench(load_registry(), "f5c_featdiff", 478).cuda().eval()
    clips = torch.rand(16, 64, 1, 128, 128, device="cuda")
    with torch.no_grad():
        fast = method.embed(clips)
        monkeypatch.setattr(f5c, "MAX_K_BY_MAXIMA", 0)  # topk and no fused ccc: the plain path
        monkeypatch.setattr(f5c, "FUSED_CCC", False)
        monkeypatch.setattr(f5c, "SPACE_TO_DEPTH_STEM", False)
        plain = method.embed(clips)
        torch.testing.assert_close(fast, plain, rtol=0, atol=1e-4)
        monkeypatch.undo()
        compile_method(method)
        compiled = method.embed(clips)
    torch.testing.assert_close(compiled, plain, rtol=1e-4, atol=1e-4)
    # the reference's per-frame loop, the baseline of the speed-up ratio, agrees as well
    plain_copy = build_for_bench(load_registry(), "f5c_featdiff", 478).cuda().eval()
    plain_copy.load_state_dict({k.replace("_orig_mod.", ""): v for k, v in method.state_dict().items()})
    with torch.no_grad():
        torch.testing.assert_close(reference_embed(plain_copy, clips), plain, rtol=1e-4, atol=1e-4)
