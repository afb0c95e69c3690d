"""Multi-clip aggregation: k clips per video, embeddings or scores averaged (``multi_clip``)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from avbench.data.clips import eval_start, spread_starts
from avbench.data.loader import ClipSource
from avbench.embed import embed_videos, score_videos
from avbench.errors import PluginError, UsageError
from avbench.evaluate import EvaluationRequest, checkpoint_of_row, evaluate, plan_evaluation
from avbench.evaluation import verification_pairs
from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, cell_keys, execute, plan_run
from avbench.scores import read_scores
from avbench.specs import EvalGroup, InputKind

GROUPS = ["k1", "k2_embedding", "k2_score", "k4_embedding", "k4_score", "k8_embedding", "k8_score"]
NVFAIR_GENS = ("facevid2vid", "tps", "lia")
# overall's run and training keys for f5c_featdiff, smoke profile, seed 0, on a dataset of this
# fingerprint, as computed before EvalGroup had the clips and aggregate fields: new fields of
# an eval group must never move an existing protocol's keys (stored rows would stop matching).
FINGERPRINT = "f219bfc63cf5ef743178"
OVERALL_RUN_KEY = "1f18874ffb54c111e877063d4d02558b"
OVERALL_TRAINING_KEY = "6d9b63c495b3e4bd1d3f4ee84795bf5c"


class CpuFabric:
    def to_device(self, x):
        return x


class MeanPoint(torch.nn.Module):
    """Embeds a landmark clip as its unit mean point (a known answer per clip)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(1))

    def embed(self, clips):
        return torch.nn.functional.normalize(clips.mean(dim=(1, 2)) * self.w, dim=1)


class WholeVideos(MeanPoint):
    embeds_whole_videos = True


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# -- the clip-start rule -----------------------------------------------------------------------

@pytest.mark.parametrize(("n", "t", "k", "starts"), [
    (24, 8, 1, [8]),                        # the centred clip, as eval_start
    (25, 8, 1, [8]),                        # odd slack: floor
    (24, 8, 2, [0, 16]),                    # first opens, last closes the video
    (24, 8, 4, [0, 5, 11, 16]),             # 16/3 = 5.33 -> 5, 10.67 -> 11
    (20, 8, 8, [0, 2, 3, 5, 7, 9, 10, 12]),  # 12/7 steps: 1.71, 3.43, 5.14, 6.86, 8.57, 10.29
    (13, 8, 3, [0, 3, 5]),                  # 2.5 rounds half up to 3
    (10, 8, 4, [0, 1, 1, 2]),               # fewer distinct windows than k: starts repeat
    (8, 8, 4, [0, 0, 0, 0]),                # exactly T frames: one window, k copies
    (5, 8, 3, [0, 0, 0]),                   # shorter than T: k copies of the padded clip
])
def test_clip_starts_are_spread_evenly_over_the_video(n, t, k, starts):
    assert spread_starts(n, t, k) == starts
    assert all(0 <= s <= max(0, n - t) for s in starts)


def test_one_clip_is_the_centred_clip_and_bad_counts_are_refused():
    assert all(spread_starts(n, 8, 1) == [eval_start(n, 8)] for n in range(1, 40))
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="clips must be a whole number >= 1"):
            spread_starts(24, 8, bad)


def test_eval_groups_check_their_clips_and_aggregation():
    assert EvalGroup("all", NVFAIR_GENS) == EvalGroup("all", NVFAIR_GENS, clips=1, aggregate="embedding")
    with pytest.raises(PluginError, match=r"eval group 'k0': clips=0 must be a whole number >= 1"):
        EvalGroup("k0", NVFAIR_GENS, clips=0)
    with pytest.raises(PluginError, match=r"eval group 'k2': aggregate='median': choose one of embedding, score"):
        EvalGroup("k2", NVFAIR_GENS, clips=2, aggregate="median")


# -- aggregation in the one scoring path -------------------------------------------------------

def test_k_identical_clips_embed_as_the_single_clip():
    """A video of T frames has one window: k copies of it average to its own embedding."""
    rng = np.random.default_rng(0)
    arrays = {f"v{i}": rng.normal(size=(8, 5, 3)).astype(np.float32) for i in range(5)}
    source, labels = ClipSource(arrays, InputKind.LANDMARKS), list(arrays)
    single = embed_videos(MeanPoint(), source, labels, 8, CpuFabric(), 3)
    for k in (2, 4, 8):
        for how in ("embedding", "score"):
            np.testing.assert_allclose(embed_videos(MeanPoint(), source, labels, 8, CpuFabric(), 3,
                                                    clips=k, aggregate=how), single, atol=1e-6)


def test_aggregated_scores_are_the_documented_means_of_clip_cosines():
    """``embedding``: cosine of the mean clip embeddings; ``score``: mean of the k x k clip
    cosines; both computed here from the clips themselves."""
    rng = np.random.default_rng(1)
    rows = [dict(target=t, driver=d, generator="g", kind=kind)
            for t, other in (("t1", "t2"), ("t2", "t1"))
            for d, kind in ((t, "self"), (t, "self"), (other, "cross"))]
    videos = pd.DataFrame(rows, index=[f"v{i}" for i in range(len(rows))])
    videos["path"] = [f"{lb}.mp4" for lb in videos.index]
    videos["is_original"] = False
    arrays = {lb: rng.normal(size=(int(rng.integers(12, 30)), 5, 3)).astype(np.float32) for lb in videos.index}
    source, pairs, k = ClipSource(arrays, InputKind.LANDMARKS), verification_pairs(videos), 4

    def clip_embeddings(label):
        starts = spread_starts(len(arrays[label]), 8, k)
        return unit(np.stack([arrays[label][s:s + 8].mean(axis=(0, 1)) for s in starts]))

    by_embedding = score_videos(MeanPoint(), source, videos, pairs, 8, CpuFabric(), 5, clips=k,
                                aggregate="embedding")
    by_score = score_videos(MeanPoint(), source, videos, pairs, 8, CpuFabric(), 5, clips=k, aggregate="score")
    for pair, e, s in zip(pairs.itertuples(), by_embedding["score"], by_score["score"]):
        a, b = clip_embeddings(pair.a), clip_embeddings(pair.b)
        assert e == pytest.approx(float(unit(a.mean(0)) @ unit(b.mean(0))), abs=1e-5)
        assert s == pytest.approx(float((a @ b.T).mean()), abs=1e-5)


def test_the_two_aggregations_of_one_k_embed_their_clips_once():
    """score_and_store keeps one clip cache per model: k2_score reuses k2_embedding's clips."""
    calls = []

    class Counting(MeanPoint):
        def embed(self, clips):
            calls.append(clips.shape[0])
            return super().embed(clips)

    rng = np.random.default_rng(2)
    arrays = {f"v{i}": rng.normal(size=(20, 5, 3)).astype(np.float32) for i in range(3)}
    source, labels, cache = ClipSource(arrays, InputKind.LANDMARKS), list(arrays), {}
    for how in ("embedding", "score"):
        cached = embed_videos(Counting(), source, labels, 8, CpuFabric(), 4, clips=2, aggregate=how,
                              clip_cache=cache)
        np.testing.assert_array_equal(cached, embed_videos(MeanPoint(), source, labels, 8, CpuFabric(), 4,
                                                           clips=2, aggregate=how))
    assert calls == [4, 2]  # 3 videos x 2 clips, embedded once


def test_whole_video_methods_refuse_more_than_one_clip():
    arrays = {"v0": np.zeros((12, 5, 3), np.float32) + 1}
    source = ClipSource(arrays, InputKind.LANDMARKS)
    assert embed_videos(WholeVideos(), source, ["v0"], 8, CpuFabric()).shape == (1, 3)  # k = 1: as before
    with pytest.raises(UsageError, match=r"clips=2: method 'WholeVideos' embeds each video whole "
                                         r"\(embeds_whole_videos.*evaluate it with a single-clip protocol"):
        embed_videos(WholeVideos(), source, ["v0"], 8, CpuFabric(), clips=2)


def test_a_whole_video_method_is_refused_when_planned_not_after_training(tiny_synthetic):
    with pytest.raises(UsageError, match=r"^protocol 'multi_clip', group 'k2_embedding': clips=2: method "
                                         r"'avaprintdb_gcn' embeds each video whole"):
        plan_run(load_registry(), RunRequest(method="avaprintdb_gcn", protocol="multi_clip", device="cpu",
                                             profile="smoke", extractor="dataset",
                                             data=f"synthetic:{tiny_synthetic}"))


# -- the protocol ------------------------------------------------------------------------------

def test_multi_clip_trains_like_overall_and_evaluates_k_clips_per_video():
    reg = load_registry()
    (overall,) = reg.protocols.get("overall").cells(NVFAIR_GENS)
    (cell,) = reg.protocols.get("multi_clip").cells(NVFAIR_GENS)
    assert (cell.name, cell.train_generators, cell.originals, cell.clip_length) == (
        overall.name, overall.train_generators, overall.originals, overall.clip_length)
    assert [(e.name, e.clips, e.aggregate) for e in cell.evals] == [
        ("k1", 1, "embedding"), ("k2_embedding", 2, "embedding"), ("k2_score", 2, "score"),
        ("k4_embedding", 4, "embedding"), ("k4_score", 4, "score"),
        ("k8_embedding", 8, "embedding"), ("k8_score", 8, "score")]
    assert all(e.generators == NVFAIR_GENS and not e.originals and not e.drop_shared_driving_video
               for e in cell.evals)
    # k1 is overall's own group in all but name.
    assert dataclasses.replace(cell.evals[0], name="all") == overall.evals[0]


def test_existing_run_keys_are_unchanged(tiny_synthetic):
    """The keys of overall's cell, with the dataset fingerprint pinned, are those computed before
    eval groups had clip options; multi_clip's cell trains under overall's training key."""
    reg = load_registry()
    for name in ("overall", "multi_clip"):
        plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol=name, device="cpu", profile="smoke",
                                        data=f"synthetic:{tiny_synthetic}"))
        plan.index = dataclasses.replace(plan.index, fingerprint=FINGERPRINT)
        _, _, keys, tkey = cell_keys(plan, plan.cells[0])
        assert tkey == OVERALL_TRAINING_KEY
        if name == "overall":
            assert keys == {"all": OVERALL_RUN_KEY}
        else:
            assert list(keys) == GROUPS and len(set(keys.values())) == len(GROUPS)


# -- end to end: overall trains, multi_clip reuses its model (run and evaluate) ----------------

@pytest.fixture(scope="module")
def runs(tiny_synthetic, tmp_path_factory):
    """overall trained in process, then `avbench run --protocol multi_clip` on the same database
    (which must reuse overall's model), then `evaluate --protocol multi_clip` of overall's model."""
    folder = tmp_path_factory.mktemp("multi-clip")
    data = f"synthetic:{tiny_synthetic}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AVBENCH_CACHE_DIR", str(folder / "cache"))
        reg = load_registry()
        store = ResultsStore(folder / "results.sqlite")
        plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                        profile="smoke", data=data))
        [overall] = execute(plan, store=store, cache_dir=folder / "cache")[0].rows
        env = {**os.environ, "AVBENCH_CACHE_DIR": str(folder / "cache"), "COLUMNS": "200"}
        cli = subprocess.run([sys.executable, "-m", "avbench", "run", "--method", "f5c_featdiff",
                              "--protocol", "multi_clip", "--profile", "smoke", "--device", "cpu",
                              "--data", data, "--db", str(store.path), "--json"],
                             capture_output=True, text=True, env=env, cwd=folder, timeout=300)
        request = EvaluationRequest(checkpoint=checkpoint_of_row(store, overall.id), protocol="multi_clip",
                                    data=data, device="cpu")
        eval_plan, meta = plan_evaluation(reg, request)
        # k1 and k2 only: the larger k are what the run above measured, at 4x and 8x the cost.
        [cell] = eval_plan.cells
        eval_plan.cells = [dataclasses.replace(cell, evals=cell.evals[:3])]
        evaluated = evaluate(reg, eval_plan, request.checkpoint, meta, store, request,
                             cache_dir=folder / "cache")
    return store, plan, overall, cli, evaluated


def scores_of(store, row) -> pd.DataFrame:
    return read_scores(store.score_file(row.score_file, row.run_key, row.score_sha256))


def test_a_run_stores_one_row_per_group_with_overalls_model(runs):
    store, plan, overall, cli, _ = runs
    assert cli.returncode == 0, cli.stderr
    rows = store.rows(protocol="multi_clip")
    rows = [r for r in rows if r.trained_on is None]
    assert [r.test_group for r in rows] == GROUPS
    assert json.loads(cli.stdout) and all(r.cell == "all" and r.profile == "smoke" for r in rows)
    assert all(r.metrics["model_reused"] and r.metrics["training_key"] == overall.metrics["training_key"]
               and r.checkpoint == overall.checkpoint for r in rows)
    assert "clips" not in rows[0].metrics  # k1 is stored as a single-clip group
    assert [(r.metrics["clips"], r.metrics["aggregate"]) for r in rows[1:]] == [
        (2, "embedding"), (2, "score"), (4, "embedding"), (4, "score"), (8, "embedding"), (8, "score")]
    for r in rows:
        assert 0.0 <= r.main_score <= 1.0
        assert r.metrics["data"]["test_videos"] == overall.metrics["data"]["test_videos"]
        assert len(scores_of(store, r)) == len(scores_of(store, overall))  # the same pairs


def test_k1_gives_exactly_overalls_scores(runs):
    """The known answer: one centred clip is what overall scores, bit for bit."""
    store, _, overall, _, evaluated = runs
    ours = scores_of(store, overall)
    k1 = next(r for r in store.rows(protocol="multi_clip") if r.test_group == "k1" and r.trained_on is None)
    for row in (k1, evaluated[0]):
        theirs = scores_of(store, row)
        assert theirs["score"].tolist() == ours["score"].tolist()
        assert theirs["label"].tolist() == ours["label"].tolist()
        assert row.main_score == overall.main_score
    # more clips are other numbers, not the single clip again
    k8 = next(r for r in store.rows(protocol="multi_clip") if r.test_group == "k8_embedding")
    assert scores_of(store, k8)["score"].tolist() != ours["score"].tolist()


def test_overall_keeps_its_run_key(runs):
    store, plan, overall, _, _ = runs
    _, _, keys, tkey = cell_keys(plan, plan.cells[0])
    assert overall.run_key == keys["all"] and overall.metrics["training_key"] == tkey
    if plan.index.fingerprint == FINGERPRINT:  # the synthetic data of this machine's codec
        assert (overall.run_key, tkey) == (OVERALL_RUN_KEY, OVERALL_TRAINING_KEY)


def test_evaluate_scores_a_saved_overall_model_under_multi_clip(runs):
    store, _, overall, _, evaluated = runs
    assert [r.test_group for r in evaluated] == GROUPS[:3]
    assert all(r.protocol == "multi_clip" and r.trained_on["protocol"] == "overall" for r in evaluated)
    trained = {r.test_group: r for r in store.rows(protocol="multi_clip") if r.trained_on is None}
    for r in evaluated:  # the same model and data, the one scoring path: the run's numbers
        assert scores_of(store, r)["score"].tolist() == scores_of(store, trained[r.test_group])["score"].tolist()
