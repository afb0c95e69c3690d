"""AVAPrintDB's graph baseline (methods/avaprintdb_gcn.py): the reference's model, loss and
window-averaged scores, checked against explicit computations, and a CLI run end to end."""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("torch_geometric")

from avbench.data.loader import ClipSource  # noqa: E402
from avbench.embed import embed_videos  # noqa: E402
from avbench.errors import UsageError  # noqa: E402
from avbench.specs import InputKind  # noqa: E402
from avbench_methods.avaprintdb_gcn import AvaprintdbGCN, batch_triplet_loss, normalise_xyz  # noqa: E402


class CpuFabric:
    """What embed_videos needs of Fabric on a CPU: no device move, no autocast."""

    def to_device(self, x):
        return x

    def autocast(self):
        return contextlib.nullcontext()


def faces(n_videos: int, n_frames: int, seed: int = 0) -> torch.Tensor:
    """(n_videos, n_frames, 478, 3) pixel-like MediaPipe tracks."""
    g = torch.Generator().manual_seed(seed)
    return 64 + 20 * torch.rand(n_videos, n_frames, 478, 3, generator=g)


def reference_windows(video: torch.Tensor, window: int = 70, stride: int = 35) -> list[torch.Tensor]:
    """The reference's sliding windows over one (N, ...) video, cut one by one."""
    n = video.shape[0]
    if n < window:
        return [video]
    return [video[s:s + window] for s in range(0, n - window + 1, stride)]


def test_parameters_count_21312_with_the_reference_names_and_shapes():
    m = AvaprintdbGCN()
    assert sum(p.numel() for p in m.parameters()) == 21312
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "gcn1.lin.weight": (64, 3), "gcn1.bias": (64,),
        "gcn2.lin.weight": (64, 64), "gcn2.bias": (64,),
        "gcn3.lin.weight": (256, 64), "gcn3.bias": (256,),
        "temporal_pool.query": (256,)}


def test_graph_is_the_109_points_with_306_delaunay_edges():
    m = AvaprintdbGCN()
    assert m.layout.size == 109 and len(set(m.layout.subset)) == 109
    assert m.edge_index.shape == (2, 612)
    directed = set(map(tuple, m.edge_index.T.tolist()))
    undirected = {tuple(sorted(e)) for e in directed}
    assert len(directed) == 612 and len(undirected) == 306
    assert all((j, i) in directed for i, j in directed) and all(i != j for i, j in directed)
    assert {i for e in undirected for i in e} == set(range(109))
    # The shipped 109-point files use the same graph and anchors.
    shipped = AvaprintdbGCN(AvaprintdbGCN.Config(n_points=109))
    assert torch.equal(shipped.edge_index, m.edge_index)
    assert (shipped.layout.nose, shipped.layout.eye_inner) == (m.layout.nose, m.layout.eye_inner)


def test_window_encoder_equals_gcnconv_message_passing_over_the_reference_batched_graph():
    """The dense propagation gives what torch_geometric's GCNConv computes over one big graph
    of B*T disconnected frame graphs (the reference's formulation), to float precision."""
    from torch_geometric.nn import global_mean_pool

    torch.manual_seed(0)
    m = AvaprintdbGCN().eval()
    for conv in (m.gcn1, m.gcn2, m.gcn3):
        conv.bias.data.normal_()
    windows = torch.randn(3, 12, 109, 3)
    w, t, v, _ = windows.shape
    e = m.edge_index.shape[1]
    big = m.edge_index.repeat(1, w * t) + (torch.arange(w * t) * v).repeat_interleave(e)
    with torch.no_grad():
        h = F.relu(m.gcn1(windows.reshape(-1, 3), big))
        h = F.relu(m.gcn2(h, big))
        h = m.gcn3(h, big)
        frames = global_mean_pool(h, torch.arange(w * t).repeat_interleave(v)).view(w, t, -1)
        weights = torch.softmax(frames @ m.temporal_pool.query, dim=1)
        expected = F.normalize((frames * weights[..., None]).sum(1), dim=1)
        torch.testing.assert_close(m.embed_windows(windows), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("n_frames", "n_windows"), [(12, 1), (70, 1), (104, 1), (105, 2), (176, 4)])
def test_embedding_shape_and_norm_follow_the_window_count(n_frames, n_windows):
    torch.manual_seed(0)
    m = AvaprintdbGCN().eval()
    calls = []
    encoder = m.embed_windows
    m.embed_windows = lambda w: calls.append(tuple(w.shape)) or encoder(w)
    with torch.no_grad():
        e = m.embed(faces(2, n_frames))
    assert e.shape == (2, 256)
    assert calls == [(2 * n_windows, min(n_frames, 70), 109, 3)]
    norms = e.norm(dim=1)
    if n_windows == 1:
        torch.testing.assert_close(norms, torch.ones(2))
    else:  # the mean of distinct unit vectors
        assert bool((norms < 1 - 1e-4).all())


def fake_encoder(windows: torch.Tensor) -> torch.Tensor:
    """A per-window encoder with a known answer: unit vectors of simple window statistics."""
    stats = torch.cat([windows.mean(dim=(1, 2)), windows.std(dim=(1, 2)), windows[:, -1].mean(1)], dim=1)
    return F.normalize(stats + torch.tensor([0.1, -0.2, 0.3] * 3), dim=1)


@pytest.mark.parametrize("encoder", ["fake", "model"])
def test_pair_score_is_the_mean_cosine_over_all_window_pairs(encoder):
    """Through avbench's evaluation path (embed_videos, then the dot product of two videos'
    vectors): each pair's score equals the reference's, the mean cosine similarity over every
    (window of a, window of b), whole videos, windows of 70 at stride 35."""
    torch.manual_seed(0)
    m = AvaprintdbGCN().eval()
    if encoder == "fake":
        m.embed_windows = fake_encoder
    lengths = {"short": 50, "three": 140, "four": 176, "one": 70}
    videos = {k: faces(1, n, seed=i)[0].numpy() for i, (k, n) in enumerate(lengths.items())}
    source = ClipSource(videos, InputKind.LANDMARKS)
    labels = list(videos)
    emb = embed_videos(m, source, labels, clip_length=16, fabric=CpuFabric(), batch_size=2)
    assert emb.shape == (4, 256 if encoder == "model" else 9)

    def window_embeddings(label):
        x = normalise_xyz(torch.from_numpy(videos[label])[None], m.layout)[0]
        with torch.no_grad():
            return torch.cat([m.embed_windows(w[None]) for w in reference_windows(x)])

    per_video = {k: window_embeddings(k) for k in labels}
    assert [len(per_video[k]) for k in labels] == [1, 3, 4, 1]
    for (i, a), (j, b) in itertools.combinations(enumerate(labels), 2):
        cosines = [F.cosine_similarity(wa, wb, dim=0).item() for wa in per_video[a] for wb in per_video[b]]
        assert float(emb[i] @ emb[j]) == pytest.approx(np.mean(cosines), abs=1e-5)


def test_frames_after_the_last_whole_window_are_not_used():
    torch.manual_seed(0)
    m = AvaprintdbGCN().eval()
    x = faces(1, 176)  # windows start at 0, 35, 70, 105: frame 175 is in none
    y = x.clone()
    y[0, 175] += 50.0
    with torch.no_grad():
        torch.testing.assert_close(m.embed(x), m.embed(y))
        assert not torch.allclose(m.embed(x), m.embed(x.flip(1)))


def test_coordinates_are_centred_on_the_nose_and_scaled_by_the_3d_eye_distance():
    m = AvaprintdbGCN()
    x = normalise_xyz(faces(2, 5), m.layout)
    assert x.shape == (2, 5, 109, 3)
    torch.testing.assert_close(x[:, :, m.layout.nose], torch.zeros(2, 5, 3))
    i, j = m.layout.eye_inner
    torch.testing.assert_close((x[:, :, i] - x[:, :, j]).norm(dim=-1), torch.ones(2, 5))


def test_embedding_ignores_face_position_and_size_but_reads_depth():
    torch.manual_seed(0)
    m = AvaprintdbGCN().eval()
    x = faces(2, 20)
    moved = 0.5 * x + torch.tensor([9.0, -3.0, 2.0])
    deeper = x.clone()
    deeper[..., 2] *= 3.0
    with torch.no_grad():
        torch.testing.assert_close(m.embed(x), m.embed(moved), atol=1e-5, rtol=1e-5)
        assert (m.embed(x) - m.embed(deeper)).abs().max() > 1e-3


def test_triplet_loss_is_the_mean_over_each_anchors_triplets_of_torch_triplet_margin_loss():
    """Known answer: per anchor, the mean of nn.TripletMarginLoss(margin=0.1) over all its
    (positive, negative) pairs; then the mean over anchors (drivers of unequal size)."""
    torch.manual_seed(0)
    e = F.normalize(torch.randn(6, 8), dim=1)
    drivers = torch.tensor([0, 0, 0, 1, 1, 2])  # driver 2's clip has no positive: not an anchor
    criterion = torch.nn.TripletMarginLoss(margin=0.1)
    per_anchor = []
    for a in range(6):
        losses = [criterion(e[a:a + 1], e[p:p + 1], e[n:n + 1]).item()
                  for p in range(6) for n in range(6)
                  if p != a and drivers[p] == drivers[a] and drivers[n] != drivers[a]]
        if losses:
            per_anchor.append(np.mean(losses))
    assert len(per_anchor) == 5
    assert batch_triplet_loss(e, drivers, 0.1).item() == pytest.approx(np.mean(per_anchor), rel=1e-6)


def test_triplet_loss_hand_computed():
    # 1-D unit embeddings: clips 0, 1 of driver 0 at +1 and -1, clip 2 of driver 1 at +1.
    e = torch.tensor([[1.0], [-1.0], [1.0]])
    # anchor 0: d(a,p) = 2, d(a,n) = 0 -> 2.1; anchor 1: d(a,p) = 2, d(a,n) = 2 -> 0.1.
    assert batch_triplet_loss(e, torch.tensor([0, 0, 1]), 0.1).item() == pytest.approx(1.1, abs=1e-5)


def test_triplet_loss_needs_a_positive_and_a_negative():
    with pytest.raises(ValueError) as info:
        batch_triplet_loss(torch.eye(3), torch.tensor([0, 1, 2]), 0.1)
    assert str(info.value) == ("triplet loss needs, in one batch, two clips of one driver and a clip of "
                               "another driver; train with identities_per_batch >= 2 and "
                               "videos_per_identity >= 2")


def test_loss_trains_the_model_through_dropout():
    torch.manual_seed(0)
    m = AvaprintdbGCN().train()
    loss = m.loss(faces(4, 70), torch.tensor([0, 0, 1, 1]), torch.zeros(4))
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())


def test_layouts_without_the_109_points_are_refused_with_what_to_do():
    with pytest.raises(UsageError) as info:
        AvaprintdbGCN(AvaprintdbGCN.Config(extractor="dataset", n_points=68))
    assert str(info.value) == (
        "avaprintdb_gcn reads AVAPrintDB's 109 MediaPipe points with depth, but extractor 'dataset' "
        "gives 68 points; use --extractor mediapipe (478-point mesh with iris) or, on AVAPrintDB "
        "data, --extractor dataset (its 109-point files)")
    with pytest.raises(ValueError) as info:
        AvaprintdbGCN().embed(faces(1, 8)[..., :2])
    assert str(info.value) == (
        "avaprintdb_gcn expects (B, T, 478, 3) landmark clips with x, y, z (layout mediapipe478), got "
        "(1, 8, 478, 2); use an extractor that gives depth (mediapipe) or AVAPrintDB's 109-point "
        "landmark files")
    with pytest.raises(UsageError, match=r"window=70 and stride=0 must both be at least 1"):
        AvaprintdbGCN(AvaprintdbGCN.Config(stride=0))


def test_cli_smoke_run_with_mediapipe_scores_whole_videos(run_cli, tiny_synthetic, tmp_path):
    """``avbench run`` trains and evaluates on the tiny synthetic dataset with MediaPipe
    landmarks; short windows (8, stride 4) make every 20-24-frame test video several windows."""
    pytest.importorskip("mediapipe")
    from avbench.results import ResultsStore
    from avbench.scores import read_scores

    db = tmp_path / "r.sqlite"
    r = run_cli("run", "--method", "avaprintdb_gcn", "--protocol", "overall", "--profile", "smoke",
                "--device", "cpu", "--extractor", "mediapipe", "--data", f"synthetic:{tiny_synthetic}",
                "--db", str(db), "--set", "window=8", "--set", "stride=4")
    assert r.returncode == 0, r.stderr[-3000:]
    (row,) = ResultsStore(db).rows()
    assert row.method == "avaprintdb_gcn" and 0.0 <= row.main_score <= 1.0
    cfg = row.config["method"]
    assert (cfg["extractor"], cfg["n_points"], cfg["window"], cfg["stride"], cfg["margin"]) == \
        ("mediapipe", 478, 8, 4, 0.1)
    assert row.metrics["landmarks"]["extractor"] == "mediapipe"
    scores = read_scores(ResultsStore(db).resolve(row.score_file))
    assert len(scores) > 0 and scores["score"].between(-1.0, 1.0).all()
