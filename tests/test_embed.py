"""The one scoring path (avbench.embed.score_videos): validation, run and evaluate all use it."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch

from avbench.data.loader import ClipSource
from avbench.embed import score_videos
from avbench.evaluation import verification_pairs
from avbench.specs import InputKind
from avbench.training import validation_scores


class CpuFabric:
    def to_device(self, x):
        return x

    def autocast(self):
        return contextlib.nullcontext()


class MeanFrame(torch.nn.Module):
    """Embeds a landmark clip as its unit mean point; counts the videos it saw."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))
        self.seen = 0

    def embed(self, clips):
        self.seen += clips.shape[0]
        return torch.nn.functional.normalize(clips.mean(dim=(1, 2)) * self.w, dim=1)


def videos_table() -> pd.DataFrame:
    """Two targets, each with two self-reenactments and one cross-reenactment, plus a video of
    a third target that no pair of the first two uses."""
    rows = []
    for target, other in (("t1", "t2"), ("t2", "t1")):
        rows += [dict(target=target, driver=target, generator=g, kind="self") for g in ("g1", "g2")]
        rows.append(dict(target=target, driver=other, generator="g1", kind="cross"))
    df = pd.DataFrame(rows)
    df["path"] = [f"{r.target}/{r.driver}-{r.generator}.mp4" for r in df.itertuples()]
    df["is_original"] = False
    df.index = [f"v{i}" for i in range(len(df))]
    return df


def test_scores_are_dot_products_of_each_videos_embedding_and_unpaired_videos_are_not_embedded():
    videos = videos_table()
    rng = np.random.default_rng(0)
    arrays = {label: rng.normal(size=(12, 5, 3)).astype(np.float32) for label in videos.index}
    extra = videos.iloc[:1].copy()
    extra.index = ["lonely"]
    extra["target"] = "t3"
    arrays["lonely"] = rng.normal(size=(12, 5, 3)).astype(np.float32)
    table = pd.concat([videos, extra])
    pairs = verification_pairs(videos)
    method = MeanFrame()
    scores = score_videos(method, ClipSource(arrays, InputKind.LANDMARKS), table, pairs,
                          clip_length=8, fabric=CpuFabric(), batch_size=2)
    assert method.seen == len(videos)  # "lonely" is in no pair
    assert list(scores.columns[:9]) == ["a_path", "b_path", "target", "a_driver", "b_driver",
                                         "a_generator", "b_generator", "label", "score"]
    assert len(scores) == len(pairs)
    assert scores["label"].tolist() == pairs["label"].tolist()
    for pair, score in zip(pairs.itertuples(), scores["score"]):
        # centre clip of 8 of 12 frames: frames 2..9
        a = arrays[pair.a][2:10].mean(axis=(0, 1))
        b = arrays[pair.b][2:10].mean(axis=(0, 1))
        want = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        assert abs(score - want) < 1e-5


def test_validation_scores_give_the_mean_per_target_auc_of_their_score_table():
    videos = videos_table()
    rng = np.random.default_rng(1)
    arrays = {label: rng.normal(size=(10, 5, 3)).astype(np.float32) for label in videos.index}
    auc, scores = validation_scores(MeanFrame(), ClipSource(arrays, InputKind.LANDMARKS), videos,
                                    clip_length=8, fabric=CpuFabric(), batch_size=4)
    from avbench.metrics import per_target_auc
    assert auc == float(per_target_auc(scores).mean())
    assert set(scores["target"]) == {"t1", "t2"}


def test_validation_without_pairs_is_nan_and_no_table():
    videos = videos_table().iloc[:1]
    arrays = {videos.index[0]: np.zeros((10, 5, 3), np.float32)}
    auc, scores = validation_scores(MeanFrame(), ClipSource(arrays, InputKind.LANDMARKS), videos,
                                    clip_length=8, fabric=CpuFabric(), batch_size=4)
    assert np.isnan(auc) and scores is None


class Linear(torch.nn.Module):
    """A matmul: what autocast would run in BF16."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(15, 8)

    def embed(self, clips):
        return torch.nn.functional.normalize(self.lin(clips.flatten(2)).mean(1), dim=1)


class AutocastFabric(CpuFabric):
    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16)


def test_embeddings_are_exact_fp32_even_inside_an_autocast_context():
    """Scores are computed at the weights' precision, so a CPU reproduces a GPU run's stored
    AUC; a caller's autocast (a training step's) never reaches them."""
    from avbench.embed import embed_videos

    torch.manual_seed(0)
    method = Linear()
    rng = np.random.default_rng(1)
    arrays = {f"v{i}": rng.normal(size=(12, 5, 3)).astype(np.float32) for i in range(6)}
    source = ClipSource(arrays, InputKind.LANDMARKS)
    labels = list(arrays)
    plain = embed_videos(method, source, labels, 8, CpuFabric(), 3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = embed_videos(method, source, labels, 8, AutocastFabric(), 3)
        rounded = method.embed(torch.from_numpy(np.stack([a[2:10] for a in arrays.values()]))).float()
    assert inside.dtype == np.float32 and np.array_equal(plain, inside)
    assert not np.allclose(rounded.detach().numpy(), plain, atol=1e-4)  # what autocast would give


def test_a_cpu_embeds_at_most_16_clips_at_a_time_whatever_the_batch_asked():
    """Runs pass their training batch (128 in the standard profile); on a CPU that held 9.4 GB
    of F5C activations, so embedding caps it: same embeddings, a fraction of the memory."""
    from avbench.embed import CPU_BATCH, embed_videos

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))

        def embed(self, clips):
            seen.append(clips.shape[0])
            return torch.nn.functional.normalize(clips.flatten(1)[:, :4] + 1, dim=1)

    frames = {f"v{i}": np.full((8, 128, 128), i, np.uint8) for i in range(40)}
    emb = embed_videos(Recorder(), ClipSource(frames, InputKind.FRAMES), list(frames), 4, CpuFabric(), batch_size=128)
    assert CPU_BATCH == 16 and seen == [16, 16, 8] and emb.shape == (40, 4)
