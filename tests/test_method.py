"""The method contract: SupCon loss, config overrides, the embedding check."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from avbench.method import Method, check_embeddings, supervised_contrastive_loss


def test_supcon_matches_hand_computation():
    # Four unit vectors at angles 0, 10, 90, 180 degrees; drivers a, a, b, b.
    ang = torch.tensor([0.0, 10.0, 90.0, 180.0]) * math.pi / 180
    z = torch.stack([ang.cos(), ang.sin()], 1)
    labels = torch.tensor([0, 0, 1, 1])
    tau = 0.5
    sim = (z @ z.T).tolist()
    expected = 0.0
    for i in range(4):
        others = [j for j in range(4) if j != i]
        pos = [j for j in others if labels[j] == labels[i]]
        denom = sum(math.exp(sim[i][a] / tau) for a in others)
        expected += -sum(math.log(math.exp(sim[i][p] / tau) / denom) for p in pos) / len(pos)
    expected /= 4
    got = supervised_contrastive_loss(z, labels, temperature=tau)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_supcon_ignores_anchors_without_positives_and_rejects_batches_without_any():
    z = F.normalize(torch.randn(3, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    only_pair = supervised_contrastive_loss(z, torch.tensor([0, 0, 1]))
    assert torch.isfinite(only_pair)
    with pytest.raises(ValueError, match="at least two clips of one driver"):
        supervised_contrastive_loss(z, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"expected \(B, D\) embeddings"):
        supervised_contrastive_loss(z, torch.tensor([0, 0]))


def test_supcon_lower_when_drivers_cluster():
    labels = torch.tensor([0, 0, 1, 1])
    clustered = torch.tensor([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    mixed = torch.tensor([[1.0, 0], [0, 1], [1, 0], [0, 1]])
    assert supervised_contrastive_loss(clustered, labels) < supervised_contrastive_loss(mixed, labels)


class Tiny(Method):
    @dataclasses.dataclass(frozen=True)
    class Config:
        width: int = 4
        temperature: float = 0.1

    def __init__(self, config=None):
        super().__init__(config)
        self.proj = torch.nn.Linear(1, self.config.width)

    def embed(self, clips):
        return F.normalize(self.proj(clips.mean(dim=(1, 2, 3, 4))[:, None]), dim=1)


def test_from_overrides_uses_paper_defaults_and_rejects_unknown_keys():
    m = Tiny.from_overrides({"width": 6})
    assert m.config_dict() == {"width": 6, "temperature": 0.1}
    assert Tiny.from_overrides().config == Tiny.Config()
    with pytest.raises(ValueError, match="Tiny has no config option\\(s\\) depth; options: temperature, width"):
        Tiny.from_overrides({"depth": 3})


def test_default_loss_is_supcon_over_drivers_with_config_temperature():
    m = Tiny()
    clips = torch.rand(4, 3, 1, 8, 8)
    drivers = torch.tensor([0, 0, 1, 1])
    expected = supervised_contrastive_loss(m.embed(clips), drivers, 0.1)
    assert m.loss(clips, drivers, torch.zeros(4)).item() == pytest.approx(expected.item())


def test_check_embeddings_enforces_the_contract():
    m = Tiny()
    check_embeddings(m, m.embed(torch.rand(2, 3, 1, 8, 8)), 2)
    with pytest.raises(ValueError, match="must return L2-normalised rows"):
        check_embeddings(m, torch.ones(2, 4), 2)
    with pytest.raises(ValueError, match=r"returned shape \(2, 4, 1\); expected \(2, D\)"):
        check_embeddings(m, torch.ones(2, 4, 1), 2)
    with pytest.raises(ValueError, match="non-finite"):
        check_embeddings(m, torch.full((2, 4), float("nan")), 2)
