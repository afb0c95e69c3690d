"""NVFAIR's landmark-distance temporal CNN (methods/nvfair_ldmk_tcnn.py): features and loss,
against hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from avbench_methods.nvfair_ldmk_tcnn import NvfairLandmarkTCNN, nvfair_contrastive_loss, pairwise_distances


def test_pairwise_distances_hand_computed():
    pts = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]]).view(1, 1, 3, 2)
    assert pairwise_distances(pts).flatten().tolist() == [3.0, 4.0, 5.0]  # (0,1), (0,2), (1,2)


def test_feature_count_per_layout():
    assert NvfairLandmarkTCNN().input_norm.num_features == 109 * 108 // 2 == 5886  # MediaPipe subset
    assert NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68)).input_norm.num_features == 2278


def test_embedding_ignores_face_position_and_size():
    torch.manual_seed(0)
    m = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68)).eval()
    x = 40 + 30 * torch.rand(2, 16, 68, 2)
    with torch.no_grad():
        a = m.embed(x)
        b = m.embed(2.5 * x + torch.tensor([17.0, -4.0]))
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert a.shape == (2, 128)


def test_loss_hand_made_batch():
    # Three unit embeddings in 2-D: anchors 0 and 1 share driver 0, anchor 2 is driver 1.
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    drivers = torch.tensor([0, 0, 1])
    shuffled = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    tau = 0.5
    s = lambda d2: math.exp(-d2 / tau)  # noqa: E731
    # anchor 0: N = s(|e0-e1|^2 = 2), Q = s(|e0-e2|^2 = 4), R = s(|e0-sh0|^2 = 0) + s(|e0-sh1|^2 = 0)
    l0 = -math.log(s(2) / (s(2) + s(4) + s(0) + s(0)))
    # anchor 1: N = s(2), Q = s(|e1-e2|^2 = 2), R = s(|e1-sh0|^2 = 2) + s(|e1-sh1|^2 = 2)
    l1 = -math.log(s(2) / (s(2) + s(2) + s(2) + s(2)))
    # anchor 2 has no positive: left out.
    got = nvfair_contrastive_loss(e, drivers, shuffled, tau)
    assert got.item() == pytest.approx((l0 + l1) / 2, rel=1e-6)
    without = nvfair_contrastive_loss(e, drivers, None, tau)
    assert without.item() == pytest.approx((-math.log(s(2) / (s(2) + s(4))) - math.log(0.5)) / 2, rel=1e-6)


def test_loss_needs_a_positive_pair():
    with pytest.raises(ValueError, match="at least two clips of one driver"):
        nvfair_contrastive_loss(torch.eye(3), torch.tensor([0, 1, 2]), None, 0.5)


def test_shuffled_clips_are_negatives_so_order_matters():
    """A model that ignores frame order scores a clip and its shuffle alike: the R term then
    keeps the loss high; the loss is lower when shuffles are turned off."""
    torch.manual_seed(0)
    m = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68, dilations=(), kernel=1))  # order-blind
    x = 60 + 10 * torch.rand(4, 8, 68, 2)
    d = torch.tensor([0, 0, 1, 1])
    m.eval()
    with_shuffles = m.loss(x, d, d)
    m2 = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68, dilations=(), kernel=1,
                                                      shuffled_negatives=False))
    m2.load_state_dict(m.state_dict())
    m2.eval()
    assert with_shuffles.item() > m2.loss(x, d, d).item() + 0.3


def test_shuffling_features_equals_embedding_shuffled_clips():
    torch.manual_seed(0)
    m = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68)).eval()
    x = 60 + 10 * torch.rand(4, 10, 68, 2)
    d = torch.tensor([0, 0, 1, 1])
    torch.manual_seed(5)
    got = m.loss(x, d, d)
    torch.manual_seed(5)  # the same permutation draw as inside loss()
    order = torch.argsort(torch.rand(4, 10), dim=1)
    with torch.no_grad():
        shuffled = m.embed(torch.take_along_dim(x, order[:, :, None, None], dim=1))
        want = nvfair_contrastive_loss(m.embed(x), d, shuffled, m.config.temperature)
    torch.testing.assert_close(got.detach(), want)


def test_motion_only_features_ignore_face_shape():
    """Two different faces that do not move give the same (all-zero) features and embedding."""
    torch.manual_seed(0)
    m = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68)).eval()
    faces = 40 + 30 * torch.rand(2, 1, 68, 2)
    still = faces.expand(2, 12, 68, 2)
    assert m.distances(still).abs().max() < 1e-5
    with torch.no_grad():
        e = m.embed(still)
    torch.testing.assert_close(e[0], e[1])
    shaped = NvfairLandmarkTCNN(NvfairLandmarkTCNN.Config(n_points=68, motion_only=False)).eval()
    assert shaped.distances(still).abs().max() > 0.1
