"""ResNet-18 backbone ablation: standard architecture, shared head, conditions, parameter budget."""

from __future__ import annotations

import pytest
import torch
from avbench_methods.resnet18 import (
    ResNet18Backbone,
    ResNet18FeatDiff,
    ResNet18Method,
    ResNet18Static,
    ResNet18Trunk,
)


def clips_of(b: int, t: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, t, 1, 128, 128, generator=torch.Generator().manual_seed(seed))


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_trunk_is_a_standard_grayscale_resnet18():
    trunk = ResNet18Trunk()
    # torchvision resnet18: 11,689,512 parameters; minus fc (512 * 1000 + 1000) and minus the
    # stem's 2 extra input channels (2 * 64 * 7 * 7).
    assert n_params(trunk) == 11_689_512 - 513_000 - 6_272
    assert [len(stage) for stage in trunk.stages] == [2, 2, 2, 2]
    assert trunk(torch.rand(2, 1, 128, 128)).shape == (2, 512, 4, 4)


def test_backbone_neck_feeds_the_unchanged_f5c_head():
    backbone = ResNet18Backbone()
    assert backbone(torch.rand(2, 1, 128, 128)).shape == (2, 128, 4, 4)
    model = ResNet18FeatDiff()
    assert model.head.convs[0].in_channels == 128
    bare = ResNet18Method.from_overrides({"neck_channels": 0})
    assert bare.head.convs[0].in_channels == 512
    emb = bare.eval().embed(clips_of(1, 2))
    assert emb.shape == (1, 256)


def test_parameter_counts_are_near_the_paper():
    counts = ResNet18FeatDiff().parameter_counts()
    print(f"\nResNet18 parameters: total {counts['total']:,} = backbone {counts['backbone']:,} "
          f"+ head {counts['head']:,}; paper: 11.6 M")
    assert 11_000_000 <= counts["total"] <= 13_000_000
    assert counts["total"] == counts["backbone"] + counts["head"]


@pytest.mark.parametrize("condition, steps_out", [("featdiff", 2), ("pixeldiff", 2), ("rawfeat", 3),
                                                  ("static", 1)])
def test_conditions_shape_the_head_input(condition, steps_out):
    model = ResNet18Method.from_overrides({"condition": condition}).eval()
    with torch.no_grad():
        assert model.head_input(clips_of(1, 3)).shape == (1, 128, steps_out, 4, 4)


def test_featdiff_of_still_clips_is_zero_and_static_reads_the_centre_frame():
    torch.manual_seed(0)
    still = clips_of(2, 1).expand(2, 3, 1, 128, 128)
    with torch.no_grad():
        assert bool((ResNet18FeatDiff().eval().head_input(still) == 0).all())
        static = ResNet18Static().eval()
        clips = clips_of(1, 3)
        other = clips_of(1, 3, seed=5)
        other[:, 1] = clips[:, 1]
        torch.testing.assert_close(static.embed(other), static.embed(clips), rtol=0, atol=0)
    with pytest.raises(ValueError, match="ResNet18Static is the 'static' condition"):
        ResNet18Static.from_overrides({"condition": "rawfeat"})
