"""ResNet-18 backbone ablation as the paper's Table VIII code: pooled per-frame vectors, the four
conditions, MLP head, exact parameter counts; the text's Conv3d-head reading as an option."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from avbench_methods.f5c import zscore_clips
from avbench_methods.resnet18 import (
    PooledEmbeddingHead,
    PooledResNet18,
    ResNet18Backbone,
    ResNet18Method,
    ResNet18Trunk,
)


def clips_of(b: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, 1, 128, 128, generator=torch.Generator().manual_seed(seed))


def resnet(**overrides) -> ResNet18Method:
    return ResNet18Method.from_overrides(overrides)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_trunk_is_a_standard_grayscale_resnet18():
    trunk = ResNet18Trunk()
    # torchvision resnet18: 11,689,512 parameters; minus fc (512 * 1000 + 1000) and minus the
    # stem's 2 extra input channels (2 * 64 * 7 * 7).
    assert n_params(trunk) == 11_689_512 - 513_000 - 6_272 == 11_170_240
    assert [len(stage) for stage in trunk.stages] == [2, 2, 2, 2]
    assert trunk(torch.rand(2, 1, 128, 128)).shape == (2, 512, 4, 4)


def test_default_is_the_reference_pooled_encoder_and_mlp_head():
    model = resnet()
    assert isinstance(model.backbone, PooledResNet18) and isinstance(model.head, PooledEmbeddingHead)
    layers = list(model.head.mlp)
    assert [type(m).__name__ for m in layers] == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert (layers[0].in_features, layers[0].out_features, layers[4].out_features) == (512, 512, 256)
    assert layers[3].p == 0.3
    frames = torch.rand(3, 1, 128, 128)
    model.eval()
    with torch.no_grad():
        want = model.backbone.trunk(frames).mean(dim=(2, 3))  # global average pooling
        torch.testing.assert_close(model.backbone(frames), want)
        emb = model.embed(clips_of(2, 3))
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(2))


@pytest.mark.parametrize("overrides, backbone, head, total", [
    ({}, 11_170_240, 395_008, 11_565_248),  # the paper's "11.6 M"
    ({"head": "conv3d"}, 11_170_240 + 65_792, 473_888, 11_709_920),
    ({"head": "conv3d", "neck_channels": 0}, 11_170_240, 1_137_440, 12_307_680),
])
def test_exact_parameter_counts(overrides, backbone, head, total):
    for condition in ("featdiff", "pixeldiff", "rawfeat", "static"):
        counts = resnet(condition=condition, **overrides).parameter_counts()
        assert counts == {"backbone": backbone, "head": head, "total": total}


@pytest.mark.parametrize("train", [False, True])
def test_featdiff_of_identical_frames_is_exactly_zero_after_normalisation(train):
    torch.manual_seed(0)
    model = resnet().train(train)
    still = clips_of(2, 1).expand(2, 4, 1, 128, 128)
    head_in = model.head_input(still)  # the clip vector the MLP receives
    assert head_in.shape == (2, 512)
    assert bool((head_in == 0).all())


def test_featdiff_averages_differences_of_l2_normalised_frame_vectors():
    torch.manual_seed(0)
    model = resnet().eval()
    clips = clips_of(2, 4)
    with torch.no_grad():
        vecs = model.backbone(zscore_clips(clips).flatten(0, 1)).unflatten(0, (2, 4))
        unit = F.normalize(vecs, dim=-1)
        want = (unit[:, 1:] - unit[:, :-1]).mean(dim=1)
        got = model.head_input(clips)
    torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    # The mean of consecutive differences telescopes: only the first and last frames count.
    torch.testing.assert_close(got, (unit[:, -1] - unit[:, 0]) / 3, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("condition", ["pixeldiff", "rawfeat", "static"])
def test_other_conditions_average_unnormalised_vectors_of_their_frames(condition):
    torch.manual_seed(0)
    model = resnet(condition=condition).eval()
    clips = clips_of(2, 4)
    z = zscore_clips(clips)
    frames = {"pixeldiff": z[:, 1:] - z[:, :-1], "rawfeat": z, "static": z[:, 2:3]}[condition]
    with torch.no_grad():
        vecs = model.backbone(frames.flatten(0, 1)).unflatten(0, frames.shape[:2])
        torch.testing.assert_close(model.head_input(clips), vecs.mean(dim=1), atol=1e-6, rtol=1e-5)


def test_training_encodes_chunks_of_frames_as_the_reference_and_evaluation_one_call():
    torch.manual_seed(0)
    model = resnet(condition="rawfeat", chunk_frames=4).train()
    calls = []
    model.backbone.register_forward_hook(lambda mod, args, out: calls.append(args[0].shape[0]))
    model.head_input(clips_of(3, 3))  # 9 frames, clip-major
    assert calls == [4, 4, 1]
    assert model.backbone.trunk.stem[1].num_batches_tracked.item() == 3
    calls.clear()
    model.eval()
    with torch.no_grad():
        model.head_input(clips_of(3, 3))
    assert calls == [9]
    assert resnet().config.chunk_frames == 128


def test_conv3d_head_option_is_the_texts_reading_with_the_f5c_head():
    backbone = ResNet18Backbone()
    assert backbone(torch.rand(2, 1, 128, 128)).shape == (2, 128, 4, 4)
    model = resnet(head="conv3d").eval()
    assert model.head.convs[0].in_channels == 128
    with torch.no_grad():
        assert model.head_input(clips_of(1, 3)).shape == (1, 128, 2, 4, 4)
        still = clips_of(2, 1).expand(2, 3, 1, 128, 128)
        assert bool((model.head_input(still) == 0).all())
        assert resnet(head="conv3d", condition="static").eval().head_input(clips_of(1, 3)).shape \
            == (1, 128, 1, 4, 4)
    bare = resnet(head="conv3d", neck_channels=0)
    assert bare.head.convs[0].in_channels == 512
    assert bare.eval().embed(clips_of(1, 2)).shape == (1, 256)


def test_config_options_are_checked_with_their_fix():
    with pytest.raises(ValueError, match=r"ResNet18Method: head must be one of mlp, conv3d; got "
                                         r"'transformer' \(set it with --set head=mlp\)"):
        resnet(head="transformer")
    with pytest.raises(ValueError, match=r"chunk_frames must be an integer >= 0 \(0: no chunks\); "
                                         r"got -1 \(set it with --set chunk_frames=128\)"):
        resnet(chunk_frames=-1)
    with pytest.raises(ValueError, match="condition must be one of"):
        resnet(condition="flow")
