"""F5C as the paper's public code computes it: ConvStack, fcc, ccc, clip z-score, head, conditions,
and the exact parameter count of every variant (the paper text's readings are options)."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from avbench_methods.f5c import (
    CONDITIONS,
    ZSCORE_EPS,
    CircularBranch,
    ConvStack,
    EdgeConvCorrespondence,
    F5CBackbone,
    F5CMethod,
    FullyConnectedConv,
    MaxRelativeCorrespondence,
    TemporalIdentityHead,
    circular_conv,
    frame_differences,
    knn_positions,
    space_to_depth_conv,
    space_to_depth_fits,
    top_k_by_maxima,
    uses_space_to_depth,
    zscore_clips,
)


def clips_of(b: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, 1, 128, 128, generator=torch.Generator().manual_seed(seed))


def f5c(**overrides) -> F5CMethod:
    return F5CMethod.from_overrides(overrides)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- ConvStack --------------------------------------------------------------------------------


def test_convstack_maps_128_to_128x16x16_with_the_reference_paddings_and_biases():
    stack = ConvStack()
    x = torch.rand(3, 1, 128, 128)
    sizes = []
    for unit in stack:
        x = unit(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(8, 63, 63), (32, 31, 31), (64, 16, 16), (128, 16, 16)]
    convs = [unit[0] for unit in stack]
    assert [c.kernel_size[0] for c in convs] == [4, 3, 2, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1]
    assert [c.padding[0] for c in convs] == [0, 0, 1, 0]
    assert all(c.bias is not None for c in convs)
    assert n_params(stack) == 19_512


@pytest.mark.parametrize("out_channels, kernel, stride, size", [(8, 4, 2, 128), (3, 6, 3, 12), (2, 2, 2, 6)])
def test_space_to_depth_conv_is_the_conv_with_its_gradients(out_channels, kernel, stride, size):
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, out_channels, kernel, stride).double()
    x = torch.rand(5, 1, size, size, dtype=torch.float64)
    assert space_to_depth_fits(conv, x.shape)
    y = conv(x)
    (gw, gb) = torch.autograd.grad((y * y).sum(), (conv.weight, conv.bias))
    z = space_to_depth_conv(conv, x)
    assert z.shape == y.shape and z.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(z, y, rtol=0, atol=1e-12)
    (hw, hb) = torch.autograd.grad((z * z).sum(), (conv.weight, conv.bias))
    torch.testing.assert_close(hw, gw, rtol=1e-12, atol=1e-10)
    torch.testing.assert_close(hb, gb, rtol=1e-12, atol=1e-10)


def test_space_to_depth_serves_the_first_conv_only_and_only_on_gpus():
    first, *others = [unit[0] for unit in ConvStack()]
    assert space_to_depth_fits(first, (8, 1, 128, 128))
    assert not space_to_depth_fits(first, (8, 1, 127, 128))  # maps not a multiple of the stride
    assert not any(space_to_depth_fits(c, (8, c.in_channels, 64, 64)) for c in others)
    assert not space_to_depth_fits(torch.nn.Conv2d(1, 8, 4, 2, padding=1), (8, 1, 128, 128))
    assert not space_to_depth_fits(torch.nn.Conv2d(1, 8, 3, 2), (8, 1, 128, 128))
    assert not uses_space_to_depth(first, torch.zeros(8, 1, 128, 128))  # CPU: the plain conv


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_on_the_gpu_the_stem_computes_the_plain_convs_output(dtype, monkeypatch):
    import avbench_methods.f5c as f5c

    if not torch.cuda.is_available():
        pytest.fail("the gpu marker needs a CUDA device")
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    unit = ConvStack()[0].cuda()
    x = torch.rand(64, 1, 128, 128, device="cuda")
    with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
        assert uses_space_to_depth(unit[0], x)
        fast = unit(x, steps=4)
        monkeypatch.setattr(f5c, "SPACE_TO_DEPTH_STEM", False)
        plain = unit(x, steps=4)
    tol = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 2e-2}[dtype]
    torch.testing.assert_close(fast.float(), plain.float(), rtol=tol, atol=tol)


# --- fcc --------------------------------------------------------------------------------------


def padded_depthwise_conv(x: torch.Tensor, kernel: torch.Tensor, axis: int) -> torch.Tensor:
    """MOL's way: depthwise conv on the input with its first S-1 rows/columns appended."""
    c = x.shape[1]
    if axis == 2:
        return F.conv2d(torch.cat([x, x[:, :, :-1]], 2), kernel[:, None, :, None], groups=c)
    return F.conv2d(torch.cat([x, x[:, :, :, :-1]], 3), kernel[:, None, None, :], groups=c)


@pytest.mark.parametrize("axis", ["H", "W"])
def test_circular_conv_matches_padded_depthwise_conv(axis):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, 16, 12, generator=g)  # (N, C, H, W), non-square to catch axis mix-ups
    size = 16 if axis == "H" else 12
    kernel = torch.randn(5, size, generator=g)
    z = x.permute(1, 2, 0, 3).contiguous()  # channel-major (C, H, N, W)
    got = circular_conv(z, kernel, axis).permute(2, 0, 1, 3)
    want = padded_depthwise_conv(x, kernel, 2 if axis == "H" else 3)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_fcc_crops_meta_kernels_and_encodings_to_their_first_taps():
    branch = CircularBranch(4, meta_kernel=32, order="HW").eval()
    assert branch.kernel.shape == (2, 4, 32) and branch.pos.shape == (2, 4, 32)
    z = torch.randn(4, 16, 2, 16)
    before = branch(z)
    with torch.no_grad():  # taps 16..31 are not used on a 16x16 map
        branch.kernel[:, :, 16:].normal_()
        branch.pos[:, :, 16:].normal_()
    torch.testing.assert_close(branch(z), before, rtol=0, atol=0)
    with torch.no_grad():
        branch.kernel[0, :, 15] += 1.0
    assert not torch.allclose(branch(z), before)


def test_fcc_output_is_the_concatenation_of_its_two_residual_branches():
    torch.manual_seed(0)
    fcc = FullyConnectedConv(128).eval()
    assert fcc.fuse is None and n_params(fcc) == 16_896
    x = torch.randn(2, 128, 16, 16)
    z = x.permute(1, 2, 0, 3).contiguous()  # channel-major (C, H, N, W)
    want = torch.cat([fcc.branch_hw(z[:64]), fcc.branch_wh(z[64:])]).permute(2, 0, 1, 3)
    torch.testing.assert_close(fcc(x), want, rtol=0, atol=0)
    fused = FullyConnectedConv(128, fusion=True)  # the paper text's 1x1 conv + BN + ReLU
    assert n_params(fused) - n_params(fcc) == 128 * 128 + 2 * 128
    assert bool((fused.eval()(x) >= 0).all())  # ends in the fusion's ReLU


def test_fcc_initialises_encodings_and_biases_standard_normal_as_the_reference():
    torch.manual_seed(0)
    fcc = FullyConnectedConv(128)
    pos = torch.cat([b.pos.flatten() for b in (fcc.branch_hw, fcc.branch_wh)])  # 8,192 values
    bias = torch.cat([b.bias.flatten() for b in (fcc.branch_hw, fcc.branch_wh)])  # 256 values
    assert 0.97 < pos.std().item() < 1.03 and abs(pos.mean().item()) < 0.03
    assert 0.85 < bias.std().item() < 1.15
    kernels = torch.cat([b.kernel.flatten() for b in (fcc.branch_hw, fcc.branch_wh)])
    assert kernels.abs().max().item() <= 1 / math.sqrt(32)  # a 32-tap depthwise Conv2d's default


def test_fcc_preserves_shape_and_has_a_global_receptive_field():
    fcc = FullyConnectedConv(128, meta_kernel=32).eval()
    x = torch.randn(2, 128, 16, 16)
    y = fcc(x)
    assert y.shape == x.shape
    x2 = x.clone()
    x2[0, :, 3, 5] += 1.0  # one position of one map
    changed = (fcc(x2) - y).abs().amax(dim=1)  # (N, H, W)
    assert bool((changed[0] > 0).all()), "every position should see every other one"
    assert bool((changed[1] == 0).all()), "maps of other frames must not mix"


def test_fcc_rejects_maps_larger_than_the_meta_kernel():
    with pytest.raises(ValueError, match=r"meta-kernel \(8\) is shorter than the feature map \(16\); "
                                         r"raise it with --set meta_kernel=16"):
        FullyConnectedConv(8, meta_kernel=8)(torch.randn(1, 8, 16, 16))


# --- ccc --------------------------------------------------------------------------------------


def test_knn_uses_cosine_similarity_and_excludes_or_leads_with_self():
    # Five positions (a 1x5 map) on rays at 0, 10, 30, 100, 180 degrees with very different
    # lengths: cosine similarity depends on the angle only (Euclidean distance would not).
    angles = torch.tensor([0.0, 10.0, 30.0, 100.0, 180.0]) * math.pi / 180
    lengths = torch.tensor([1.0, 5.0, 0.2, 3.0, 2.0])
    vecs = (torch.stack([angles.cos(), angles.sin()], 1) * lengths[:, None])[None]  # (1, P, 2)
    assert knn_positions(vecs, 2)[0].tolist() == [[1, 2], [0, 2], [1, 0], [2, 4], [3, 2]]
    assert knn_positions(vecs, 3, include_self=True)[0].tolist() == [
        [0, 1, 2], [1, 0, 2], [2, 1, 0], [3, 2, 4], [4, 3, 2]]


def test_top_k_by_maxima_is_topk():
    """The GPU's k-NN selection (k arg-max passes) gives topk's indices, largest first, with
    self leading or never chosen as knn_positions sets it; it overwrites its input."""
    torch.manual_seed(0)
    x = torch.nn.functional.normalize(torch.randn(8, 64, 16), dim=-1)
    for fill, k in ((float("inf"), 4), (float("-inf"), 4), (float("inf"), 8)):
        sim = x @ x.transpose(1, 2)
        sim.diagonal(dim1=1, dim2=2).fill_(fill)
        expected = sim.topk(k, dim=-1).indices
        assert torch.equal(top_k_by_maxima(sim, k), expected)
        assert bool((sim.gather(-1, expected) == float("-inf")).all())  # the chosen were masked
    ties = torch.ones(1, 5, 5)
    ties.diagonal(dim1=1, dim2=2).fill_(float("-inf"))
    chosen = top_k_by_maxima(ties, 4)
    assert all(sorted(row) == sorted(set(range(5)) - {i}) for i, row in enumerate(chosen[0].tolist()))


def test_knn_keeps_self_in_or_out_even_when_all_similarities_tie():
    same = torch.ones(1, 6, 3)  # every position parallel to every other one
    assert not bool((knn_positions(same, 4) == torch.arange(6).view(1, 6, 1)).any())
    assert knn_positions(same, 4, include_self=True)[0, :, 0].tolist() == list(range(6))
    x = torch.randn(3, 16, 8)
    assert all(len(set(row)) == 4 for row in knn_positions(x, 4).reshape(-1, 4).tolist())
    with pytest.raises(ValueError, match=r"k must be in \[1, 15\] for 16 positions \(self excluded\)"):
        knn_positions(x, 16)
    assert knn_positions(x, 16, include_self=True).shape == (3, 16, 16)


def test_ccc_known_answer_on_a_hand_computed_map():
    # A 2x3 map of 2-channel vectors, row-major a b c / e d g; with k = 2 each position's
    # neighbourhood is itself and its most cosine-similar other position:
    # a<->b (0.894), c<->e (0.949), d<->g (0.8).  out_i = x_i + ReLU(x_i + max_j (x_j - x_i)).
    a, b, c, e, d, g = (3, 0), (2, 1), (0, 2), (-1, 3), (-1, -2), (-2, -1)
    fmap = torch.tensor([[a, b, c], [e, d, g]], dtype=torch.float32).permute(2, 0, 1)[None]
    out = MaxRelativeCorrespondence(k=2)(fmap)
    want = [[(6, 1), (5, 2), (0, 5)],  # a + (3, 1), b + (3, 1), c + (0, 3)
            [(-1, 6), (-1, -2), (-2, -1)]]  # e + (0, 3); d and g: max (-1, -1) -> ReLU 0
    assert out[0].permute(1, 2, 0).tolist() == [[list(v) for v in row] for row in want]


def test_ccc_of_a_constant_map_adds_its_positive_part_and_has_no_weights():
    ccc = MaxRelativeCorrespondence(k=4)
    assert n_params(ccc) == 0
    fmap = torch.tensor([2.0, -0.5, 0.0]).view(1, 3, 1, 1).expand(2, 3, 16, 16)
    want = torch.tensor([4.0, -0.5, 0.0]).view(1, 3, 1, 1).expand(2, 3, 16, 16)
    assert torch.equal(ccc(fmap), want)


@pytest.mark.parametrize("grad", [False, True])
def test_ccc_is_the_max_relative_formula_over_self_and_the_3_most_similar_positions(grad):
    x = torch.randn(2, 6, 4, 3, generator=torch.Generator().manual_seed(0), requires_grad=grad)
    with torch.set_grad_enabled(grad):
        got = MaxRelativeCorrespondence(k=4)(x)
    want = torch.empty_like(x)
    for n in range(2):  # the definition, one position at a time
        pts = x[n].detach().flatten(1).T  # (P, C)
        unit = F.normalize(pts, dim=1)
        for i in range(pts.shape[0]):
            sim = unit @ unit[i]
            sim[i] = 2.0  # self is always in
            nbrs = sim.topk(4).indices
            rel = (pts[nbrs] - pts[i]).amax(0)
            want[n, :, i // 3, i % 3] = pts[i] + F.relu(pts[i] + rel)
    torch.testing.assert_close(got.detach(), want, atol=1e-6, rtol=1e-6)
    if grad:
        got.sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()


def test_edgeconv_ccc_option_is_edgeconv_with_max_over_the_k_other_neighbours():
    torch.manual_seed(0)
    ccc = EdgeConvCorrespondence(5, k=3)
    x = torch.randn(2, 5, 4, 3)
    got = ccc(x)
    assert got.shape == x.shape
    want = torch.empty_like(x)
    for n in range(2):  # the definition, one edge at a time
        pts = x[n].flatten(1).T  # (P, C)
        sim = F.normalize(pts, dim=1) @ F.normalize(pts, dim=1).T
        for i in range(pts.shape[0]):
            sim[i, i] = -2.0
            nbrs = sim[i].topk(3).indices
            msgs = [F.relu(ccc.edge(torch.cat([pts[i], pts[j] - pts[i]]))) for j in nbrs]
            want[n, :, i // 3, i % 3] = pts[i] + torch.stack(msgs).amax(0)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_backbone_and_blocks_preserve_the_16x16_map():
    for ccc in ("maxrel", "edgeconv"):
        net = F5CBackbone(ccc=ccc)
        x = torch.rand(2, 1, 128, 128)
        maps = net.stem(x)
        assert maps.shape == (2, 128, 16, 16)
        assert net.fcc(maps).shape == maps.shape
        assert net.ccc(maps).shape == maps.shape
        assert net(x).shape == (2, 128, 16, 16)


# --- clip normalisation -----------------------------------------------------------------------


def test_clips_are_z_scored_over_all_their_frames_and_pixels_before_the_backbone():
    clips = clips_of(2, 5)
    frames = f5c(condition="rawfeat").backbone_input(clips)
    for b in range(2):
        flat = clips[b].flatten().double()
        mean, std = flat.mean(), flat.std()  # unbiased, as torch's default
        want = (clips[b].double() - mean) / (std + ZSCORE_EPS)
        torch.testing.assert_close(frames[b], want.float(), atol=1e-6, rtol=1e-6)
        assert abs(frames[b].mean().item()) < 1e-5 and abs(frames[b].std().item() - 1) < 1e-4
    assert torch.equal(f5c(condition="rawfeat", clip_norm="none").backbone_input(clips), clips)


def test_a_uniform_clip_becomes_zeros_and_embeds_finitely():
    grey = torch.full((2, 3, 1, 128, 128), 0.4)
    assert torch.equal(zscore_clips(grey), torch.zeros_like(grey))
    with torch.no_grad():
        emb = f5c(condition="rawfeat").eval().embed(grey)
    assert torch.isfinite(emb).all()


def test_pixeldiff_differences_and_static_picks_frames_of_the_z_scored_clip():
    clips = clips_of(2, 5)
    z = zscore_clips(clips)
    torch.testing.assert_close(f5c(condition="pixeldiff").backbone_input(clips),
                               z[:, 1:] - z[:, :-1], rtol=0, atol=0)
    torch.testing.assert_close(f5c(condition="static").backbone_input(clips), z[:, 2:3],
                               rtol=0, atol=0)


# --- conditions -------------------------------------------------------------------------------


def test_frame_differences_of_identical_features_are_exactly_zero():
    f = torch.randn(2, 1, 128, 16, 16).expand(2, 5, 128, 16, 16)
    d = frame_differences(f)
    assert d.shape == (2, 4, 128, 16, 16)
    assert bool((d == 0).all())
    ramp = torch.arange(4.0).view(1, 4, 1)
    assert frame_differences(ramp).flatten().tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("train", [False, True])
def test_featdiff_head_input_is_exactly_zero_for_still_clips(train):
    torch.manual_seed(0)
    model = f5c().train(train)
    still = clips_of(2, 1).expand(2, 4, 1, 128, 128)
    head_in = model.head_input(still)
    assert head_in.shape == (2, 128, 3, 16, 16)
    assert bool((head_in == 0).all())


def test_still_clips_of_different_content_get_identical_featdiff_embeddings():
    torch.manual_seed(0)
    model = f5c().eval()
    still = clips_of(2, 1, seed=3).expand(2, 4, 1, 128, 128)  # two faces, both motionless
    assert not torch.equal(still[0], still[1])
    with torch.no_grad():
        emb = model.embed(still)
        moving = model.embed(clips_of(1, 4, seed=4))
    assert torch.equal(emb[0], emb[1])
    assert not torch.allclose(emb[0], moving[0])


def test_static_reads_only_the_centre_frame_of_a_clip_in_0_1():
    torch.manual_seed(0)
    model = f5c(condition="static", clip_norm="none").eval()
    clips = clips_of(2, 5)
    other = clips_of(2, 5, seed=9)
    other[:, 2] = clips[:, 2]  # same centre frame (T // 2 = 2), every other frame different
    with torch.no_grad():
        torch.testing.assert_close(model.embed(other), model.embed(clips), rtol=0, atol=0)
        changed = clips.clone()
        changed[:, 2] = other[:, 0]
        assert not torch.allclose(model.embed(changed), model.embed(clips))


@pytest.mark.parametrize("condition, frames_in, steps_out", [
    ("featdiff", 5, 4), ("pixeldiff", 4, 4), ("rawfeat", 5, 5), ("static", 1, 1)])
def test_evaluation_folds_time_into_one_backbone_call(condition, frames_in, steps_out):
    model = f5c(condition=condition).eval()
    calls = []
    model.backbone.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    with torch.no_grad():
        head_in = model.head_input(clips_of(2, 5))
    assert calls == [2 * frames_in]  # one call, B * T' frames
    assert head_in.shape == (2, 128, steps_out, 16, 16)


def references_loop(model: F5CMethod) -> F5CMethod:
    """``model`` encoding frames as the reference does: one backbone call per time step."""
    model.encode_frames = lambda frames: torch.stack(
        [model.backbone(frames[:, s]) for s in range(frames.shape[1])], dim=1)
    return model


def norms(model: F5CMethod) -> list[torch.nn.Module]:
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_training_runs_the_backbone_once_with_batchnorm_statistics_per_time_step():
    torch.manual_seed(0)
    model = f5c().train()
    calls = []
    model.backbone.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    model.embed(clips_of(3, 5))
    assert calls == [15]  # one call on B * T frames, not T calls of B frames
    # Running averages updated once per time step, as the reference's T calls; the head's once.
    assert [bn.num_batches_tracked.item() for bn in norms(model)] == [5] * 6 + [1] * 2
    calls.clear()
    whole = f5c(batchnorm_per_step=False).train()
    whole.backbone.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    whole.embed(clips_of(3, 5))
    assert calls == [15]
    assert [bn.num_batches_tracked.item() for bn in norms(whole)] == [1] * 8


@pytest.mark.parametrize("overrides", [
    {}, {"condition": "pixeldiff", "fusion": True}, {"condition": "rawfeat", "ccc": "edgeconv"}])
def test_training_step_equals_the_references_loop_over_time_steps(overrides):
    """Forward and backward in float64: outputs, every gradient, every running average."""
    torch.manual_seed(0)
    model = f5c(dropout=0.0, **overrides).double().train()
    ref = references_loop(copy.deepcopy(model))
    clips = clips_of(3, 4).double()
    weights = torch.randn(3, 256, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got, want = model.embed(clips), ref.embed(clips)
    (got * weights).sum().backward()
    (want * weights).sum().backward()
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
    scale = max(p.grad.abs().max() for p in ref.parameters())  # biases before a BatchNorm get
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):  # only rounding noise
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12 * scale, msg=name)
    for (name, b), c in zip(model.named_buffers(), ref.buffers()):
        torch.testing.assert_close(b, c, rtol=1e-10, atol=1e-12, msg=name)
    steps = model.backbone_input(clips).shape[1]  # 4 frames; pixeldiff: 3 differences
    assert norms(model)[0].num_batches_tracked.item() == steps


def test_evaluation_is_the_same_with_or_without_the_loop_over_time_steps():
    torch.manual_seed(0)
    model = f5c().double().train()
    model.head_input(clips_of(3, 4).double())  # running averages away from their start
    model.eval()
    ref = references_loop(copy.deepcopy(model))
    clips = clips_of(2, 5, seed=2).double()
    with torch.no_grad():
        torch.testing.assert_close(model.embed(clips), ref.embed(clips), rtol=1e-12, atol=1e-14)
        frames = model.backbone_input(clips).flatten(0, 1)
        torch.testing.assert_close(model.backbone(frames, steps=5), model.backbone(frames),
                                   rtol=0, atol=0)


def test_bf16_autocast_training_is_as_close_to_float32_as_the_references_loop():
    torch.manual_seed(0)
    model = f5c(dropout=0.0).train()
    ref, exact = references_loop(copy.deepcopy(model)), copy.deepcopy(model)
    clips = clips_of(3, 4)
    want = exact.head_input(clips)
    seen = []
    model.backbone.register_forward_hook(lambda mod, args, out: seen.append(out.dtype))
    errors = {}
    for name, m in (("fused", model), ("loop", ref)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            head_in = m.head_input(clips)
            emb = m.head(head_in)
        emb.float().sum().backward()
        assert all(torch.isfinite(p.grad).all() for p in m.parameters())
        errors[name] = ((head_in.float() - want).norm() / want.norm()).item()
        torch.testing.assert_close(emb.float(), exact.head(want), rtol=0, atol=0.05)
    assert seen == [torch.bfloat16]
    assert errors["fused"] < 1.25 * errors["loop"] + 1e-3, errors  # featdiff: ~15% in bf16


def test_config_options_are_checked_with_their_fix():
    assert set(CONDITIONS) == {"featdiff", "pixeldiff", "rawfeat", "static"}
    with pytest.raises(ValueError, match="condition must be one of featdiff, pixeldiff, rawfeat, "
                                         "static; got 'flow' \\(each condition is its own "
                                         "registered method, e.g. f5c_static\\)"):
        f5c(condition="flow")
    with pytest.raises(ValueError, match=r"F5CMethod: fusion must be True or False; got 'true' "
                                         r"\(set it with --set fusion=True\)"):
        f5c(fusion="true")
    with pytest.raises(ValueError, match=r"ccc must be one of maxrel, edgeconv; got 'gcn'"):
        f5c(ccc="gcn")
    with pytest.raises(ValueError, match=r"head_stride_axis must be one of W, H; got 'T'"):
        f5c(head_stride_axis="T")
    with pytest.raises(ValueError, match=r"clip_norm must be one of zscore, none; got 'minmax'"):
        f5c(clip_norm="minmax")
    with pytest.raises(ValueError, match="at least 2 frames"):
        f5c().embed(clips_of(1, 1))
    with pytest.raises(ValueError, match=r"\(B, T, 1, H, W\)"):
        f5c().embed(torch.rand(1, 4, 128, 128))


# --- head -------------------------------------------------------------------------------------


def test_head_strides_w_and_equals_the_reference_layer_on_its_h_w_t_tensor():
    torch.manual_seed(0)
    head = TemporalIdentityHead().eval()
    assert [m.stride for m in head.convs if isinstance(m, torch.nn.Conv3d)] == [(1, 1, 2)] * 2
    assert all(m.bias is not None for m in head.convs if isinstance(m, torch.nn.Conv3d))
    x = torch.randn(2, 128, 3, 16, 16)  # (B, C, T, H, W)
    assert head.convs(x).shape == (2, 32, 3, 16, 4)  # W halved twice, H kept
    # The reference stacks (B, C, H, W, T), convolves with stride (1, 2, 1), pools to (4, 4, 1).
    y = x.permute(0, 1, 3, 4, 2)
    for i in (0, 3):
        conv, bn = head.convs[i], head.convs[i + 1]
        y = F.relu(bn(F.conv3d(y, conv.weight.permute(0, 1, 3, 4, 2), conv.bias, stride=(1, 2, 1),
                               padding=1)))
    y = F.adaptive_avg_pool3d(y, (4, 4, 1)).squeeze(-1).flatten(1)
    torch.testing.assert_close(head(x), F.normalize(head.mlp(y), dim=1), atol=1e-5, rtol=1e-5)


def test_head_stride_axis_h_is_the_paper_texts_reading():
    head = TemporalIdentityHead(stride_axis="H")
    assert head.convs(torch.randn(2, 128, 3, 16, 16)).shape == (2, 32, 3, 4, 16)
    assert f5c(head_stride_axis="H").head.convs[0].stride == (1, 2, 1)


@pytest.mark.parametrize("shape", [(2, 128, 3, 16, 16), (2, 512, 1, 4, 4), (2, 64, 2, 8, 12)])
def test_head_accepts_any_width_length_and_map_size(shape):
    head = TemporalIdentityHead(in_channels=shape[1]).eval()
    assert head.mlp[0].in_features == 512  # 32 x 4 x 4 (paper Sec. III-D)
    out = head(torch.randn(shape))
    assert out.shape == (2, 256)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))


# --- parameter counts -------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, stem, fcc, ccc, total", [
    ({}, 19_512, 16_896, 0, 510_296),  # the reference's 526,808 less its unused 16,512-weight Linear
    ({"fusion": True}, 19_512, 33_536, 0, 526_936),
    ({"ccc": "edgeconv"}, 19_512, 16_896, 32_896, 543_192),
    ({"ccc": "edgeconv", "fusion": True}, 19_512, 33_536, 32_896, 559_832),  # the text's reading
])
def test_exact_parameter_counts_of_each_variant(overrides, stem, fcc, ccc, total):
    for condition in CONDITIONS:
        model = f5c(condition=condition, **overrides)
        parts = {name: n_params(getattr(model.backbone, name)) for name in ("stem", "fcc", "ccc")}
        assert parts == {"stem": stem, "fcc": fcc, "ccc": ccc}
        assert model.parameter_counts() == {"backbone": stem + fcc + ccc, "head": 473_888,
                                            "total": total}


@pytest.mark.parametrize("shape", [(2, 3, 5, 16, 4), (2, 3, 1, 4, 4), (1, 2, 3, 15, 4), (1, 2, 3, 6, 10)])
def test_the_heads_block_average_is_adaptive_pooling_with_its_gradient(shape):
    from avbench_methods.f5c import block_average

    pool = torch.nn.AdaptiveAvgPool3d((1, 4, 4))
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    mine = block_average(x, pool)
    theirs = pool(x)
    assert mine.shape == theirs.shape == (*shape[:2], 1, 4, 4)
    torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12)
    weights = torch.randn_like(theirs)
    (grad_mine,) = torch.autograd.grad((mine * weights).sum(), x)
    (grad_theirs,) = torch.autograd.grad((theirs * weights).sum(), x)
    torch.testing.assert_close(grad_mine, grad_theirs, rtol=0, atol=1e-12)
