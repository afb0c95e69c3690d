"""F5C: backbone shapes, fcc / ccc semantics, the four input conditions, parameter budget."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from avbench_methods.f5c import (
    CONDITIONS,
    ChannelCorrespondenceConv,
    CircularBranch,
    ConvStack,
    F5CBackbone,
    F5CFeatDiff,
    F5CMethod,
    F5CStatic,
    FullyConnectedConv,
    TemporalIdentityHead,
    circular_conv,
    frame_differences,
    knn_positions,
)


def clips_of(b: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, 1, 128, 128, generator=torch.Generator().manual_seed(seed))


# --- ConvStack --------------------------------------------------------------------------------


def test_convstack_maps_128_to_128x16x16_with_exact_halvings():
    stack = ConvStack()
    x = torch.rand(3, 1, 128, 128)
    sizes = []
    for unit in stack:
        x = unit(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(8, 64, 64), (32, 32, 32), (64, 16, 16), (128, 16, 16)]
    convs = [unit[0] for unit in stack]
    assert [c.kernel_size[0] for c in convs] == [4, 3, 2, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1]


# --- fcc --------------------------------------------------------------------------------------


def reference_circular_conv_nchw(x: torch.Tensor, kernel: torch.Tensor, axis: int) -> torch.Tensor:
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
    want = reference_circular_conv_nchw(x, kernel, 2 if axis == "H" else 3)
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
    with pytest.raises(ValueError, match="meta-kernel"):
        FullyConnectedConv(8, meta_kernel=8)(torch.randn(1, 8, 16, 16))


# --- ccc --------------------------------------------------------------------------------------


def test_knn_uses_cosine_similarity_excludes_self_and_finds_the_known_neighbours():
    # Five positions (a 1x5 map) on rays at 0, 10, 30, 100, 180 degrees with very different
    # lengths: cosine similarity depends on the angle only (Euclidean distance would not).
    angles = torch.tensor([0.0, 10.0, 30.0, 100.0, 180.0]) * math.pi / 180
    lengths = torch.tensor([1.0, 5.0, 0.2, 3.0, 2.0])
    vecs = torch.stack([angles.cos(), angles.sin()], 1) * lengths[:, None]  # (P, C=2)
    fmap = vecs.T.reshape(1, 2, 1, 5)  # (N, C, H, W)
    idx = ChannelCorrespondenceConv(2, k=2).neighbours(fmap)[0]
    assert idx.tolist() == [[1, 2], [0, 2], [1, 0], [2, 4], [3, 2]]


def test_knn_returns_exactly_k_distinct_neighbours_never_self():
    x = torch.randn(3, 16, 8)
    idx = knn_positions(x, 4)
    assert idx.shape == (3, 16, 4)
    own = torch.arange(16).view(1, 16, 1)
    assert not bool((idx == own).any())
    assert all(len(set(row)) == 4 for row in idx.reshape(-1, 4).tolist())
    # Even when every position is identical (all similarities tie), self stays excluded.
    same = knn_positions(torch.ones(1, 6, 3), 4)
    assert not bool((same == torch.arange(6).view(1, 6, 1)).any())
    with pytest.raises(ValueError, match="k must be"):
        knn_positions(x, 16)


def test_ccc_is_edgeconv_with_max_over_the_k_neighbours():
    torch.manual_seed(0)
    ccc = ChannelCorrespondenceConv(5, k=3)
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
    net = F5CBackbone()
    x = torch.rand(2, 1, 128, 128)
    maps = net.stem(x)
    assert maps.shape == (2, 128, 16, 16)
    assert net.fcc(maps).shape == maps.shape
    assert net.ccc(maps).shape == maps.shape
    assert net(x).shape == (2, 128, 16, 16)


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
    model = F5CFeatDiff().train(train)
    still = clips_of(2, 1).expand(2, 4, 1, 128, 128)
    head_in = model.head_input(still)
    assert head_in.shape == (2, 128, 3, 16, 16)
    assert bool((head_in == 0).all())


def test_still_clips_of_different_content_get_identical_featdiff_embeddings():
    torch.manual_seed(0)
    model = F5CFeatDiff().eval()
    still = clips_of(2, 1, seed=3).expand(2, 4, 1, 128, 128)  # two faces, both motionless
    assert not torch.equal(still[0], still[1])
    with torch.no_grad():
        emb = model.embed(still)
        moving = model.embed(clips_of(1, 4, seed=4))
    assert torch.equal(emb[0], emb[1])
    assert not torch.allclose(emb[0], moving[0])


def test_static_uses_only_the_centre_frame():
    torch.manual_seed(0)
    model = F5CStatic().eval()
    clips = clips_of(2, 5)
    other = clips_of(2, 5, seed=9)
    other[:, 2] = clips[:, 2]  # same centre frame (T // 2 = 2), every other frame different
    with torch.no_grad():
        torch.testing.assert_close(model.embed(other), model.embed(clips), rtol=0, atol=0)
        changed = clips.clone()
        changed[:, 2] = other[:, 0]
        assert not torch.allclose(model.embed(changed), model.embed(clips))
    assert torch.equal(model.backbone_input(clips_of(1, 4))[:, 0], clips_of(1, 4)[:, 2])


@pytest.mark.parametrize("condition, frames_in, steps_out", [
    ("featdiff", 5, 4), ("pixeldiff", 4, 4), ("rawfeat", 5, 5), ("static", 1, 1)])
def test_condition_inputs_and_time_folded_into_one_backbone_call(condition, frames_in, steps_out):
    model = F5CMethod.from_overrides({"condition": condition}).eval()
    calls = []
    model.backbone.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    clips = clips_of(2, 5)
    with torch.no_grad():
        head_in = model.head_input(clips)
    assert calls == [2 * frames_in]  # one call, B * T' frames
    assert head_in.shape == (2, 128, steps_out, 16, 16)
    if condition == "pixeldiff":
        assert torch.equal(model.backbone_input(clips), clips[:, 1:] - clips[:, :-1])


def test_condition_is_validated_and_fixed_per_registered_class():
    assert set(CONDITIONS) == {"featdiff", "pixeldiff", "rawfeat", "static"}
    assert F5CFeatDiff.Config().condition == "featdiff" and F5CStatic.Config().condition == "static"
    with pytest.raises(ValueError, match="condition must be one of"):
        F5CMethod.from_overrides({"condition": "flow"})
    with pytest.raises(ValueError, match="F5CFeatDiff is the 'featdiff' condition"):
        F5CFeatDiff.from_overrides({"condition": "static"})
    with pytest.raises(ValueError, match="at least 2 frames"):
        F5CFeatDiff().embed(clips_of(1, 1))
    with pytest.raises(ValueError, match=r"\(B, T, 1, H, W\)"):
        F5CFeatDiff().embed(torch.rand(1, 4, 128, 128))


# --- head and parameter budget ----------------------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 128, 3, 16, 16), (2, 512, 1, 4, 4), (2, 64, 2, 8, 12)])
def test_head_accepts_any_width_length_and_map_size(shape):
    head = TemporalIdentityHead(in_channels=shape[1]).eval()
    assert head.mlp[0].in_features == 512  # 32 x 4 x 4 (paper Sec. III-D)
    out = head(torch.randn(shape))
    assert out.shape == (2, 256)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(2))


def test_parameter_counts_are_near_the_paper():
    counts = F5CFeatDiff().parameter_counts()
    blocks = F5CFeatDiff().backbone
    parts = {name: sum(p.numel() for p in getattr(blocks, name).parameters())
             for name in ("stem", "fcc", "ccc")}
    print(f"\nF5C parameters: total {counts['total']:,} = backbone {counts['backbone']:,} "
          f"(ConvStack {parts['stem']:,}, fcc {parts['fcc']:,}, ccc {parts['ccc']:,}) "
          f"+ head {counts['head']:,}; paper: 0.53 M = 0.06 M + 0.47 M")
    assert counts["total"] == counts["backbone"] + counts["head"]
    assert 450_000 <= counts["total"] <= 620_000
    assert 460_000 <= counts["head"] <= 480_000  # paper: 0.47 M
    assert 40_000 <= parts["fcc"] + parts["ccc"] <= 80_000  # MOL's "F5C block"; paper: 0.06 M
