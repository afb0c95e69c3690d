"""Planning and writing the synthetic dataset (avbench.synth.dataset), and reading it back
with the real layout indexes (NVFAIR, AVAPrintDB), the cached default and the plugin."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from avbench.data import avaprintdb, nvfair
from avbench.data.splits import read_nvfair_sources, read_nvfair_splits
from avbench.data.video import decode_gray
from avbench.synth import dataset as D
from avbench.synth.dataset import SynthConfig, make_plan, split_counts, synthesize

TINY = SynthConfig(identities=6, self_per_generator=1, cross_per_generator=1,
                   min_frames=12, max_frames=12)


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


# --- split_counts ---------------------------------------------------------------------

def test_split_counts():
    assert split_counts(36) == {"train": 25, "val": 3, "test": 8}
    assert split_counts(161) == {"train": 111, "val": 15, "test": 35}  # NVFAIR's own
    assert split_counts(6) == {"train": 2, "val": 2, "test": 2}
    for n in (6, 7, 10, 36, 100, 161):
        c = split_counts(n)
        assert sum(c.values()) == n and min(c.values()) >= 2


@pytest.mark.parametrize("n", [5, 1, 0])
def test_split_counts_needs_six_identities(n):
    with pytest.raises(ValueError, match=f"--identities {n}: need at least 6"):
        split_counts(n)


# --- the default plan -----------------------------------------------------------------

@pytest.fixture(scope="module")
def default_plan():
    return make_plan(SynthConfig())


def test_default_config():
    c = SynthConfig()
    assert (c.identities, c.seed, c.layout, c.size) == (108, 0, "nvfair", 128)
    assert (c.self_per_generator, c.cross_per_generator) == (3, 2)
    assert (c.min_frames, c.max_frames) == (160, 176)
    assert c.generators == ("facevid2vid", "tps", "lia")
    assert c.utterances == c.self_per_generator * len(c.generators) == 9


def test_default_plan_identities(default_plan):
    ids = default_plan.identities
    assert len(ids) == 108
    assert Counter(i.split for i in ids.values()) == split_counts(108) == {"train": 75, "val": 10, "test": 23}
    assert Counter(i.source for i in ids.values()) == {s: 36 for s in D.SOURCES}
    # NVFAIR-style names per source.
    assert {n for n, i in ids.items() if i.source == "NVIDIA-VC-subset"} == {f"id{k:03d}" for k in range(1, 37)}
    assert {n for n, i in ids.items() if i.source == "RAVDESS"} == {f"Actor_{k:02d}" for k in range(1, 37)}
    assert {n for n, i in ids.items() if i.source == "CREMA-D"} == {str(1000 + k) for k in range(1, 37)}
    c = default_plan.config
    for i in ids.values():
        # its self-reenactment utterances, then one per cross-reenactment it drives
        drives = sum(1 for v in default_plan.videos if v.driver == i.name and v.target != i.name)
        assert len(i.clips) == len(i.frames) == c.utterances + drives
        assert len(set(i.clips)) == len(i.clips)
        assert all(c.min_frames <= f <= c.max_frames for f in i.frames)


def test_default_plan_video_counts(default_plan):
    c = default_plan.config
    n = c.identities
    kinds = Counter((v.generator, "self" if v.driver == v.target else "cross")
                    for v in default_plan.videos)
    assert kinds[("original", "self")] == n * c.utterances == 972
    assert kinds[("original", "cross")] == 0
    for g in c.generators:
        assert kinds[(g, "self")] == n * c.self_per_generator == 324
        assert kinds[(g, "cross")] == n * c.cross_per_generator == 216
    assert len(default_plan.videos) == n * (c.utterances + len(c.generators)
                                            * (c.self_per_generator + c.cross_per_generator)) == 2592
    assert D.count_videos(c) == 2592
    assert sum(v.generator != "original" for v in default_plan.videos) == 1620
    assert len({v.path for v in default_plan.videos}) == 2592  # no two videos share a file
    assert len({v.landmarks for v in default_plan.videos}) == 2592


def test_default_plan_per_target_and_generator(default_plan):
    """Every target has, per generator, 3 self-reenactments (3 positive pairs per
    generator cell) and 2 cross-reenactments, and 9 originals: 24 videos."""
    per_cell = Counter((v.target, v.generator, "self" if v.driver == v.target else "cross")
                       for v in default_plan.videos)
    for target in default_plan.identities:
        assert per_cell[(target, "original", "self")] == 9
        for g in default_plan.config.generators:
            assert (per_cell[(target, g, "self")], per_cell[(target, g, "cross")]) == (3, 2)
    per_target = Counter(v.target for v in default_plan.videos)
    assert per_target == dict.fromkeys(default_plan.identities, 24)


def test_default_plan_videos_are_longer_than_the_longest_clip(default_plan):
    """Every video, originals included, has 160-176 frames: a T = 128 clip (the longest
    of the clip_length protocol) is never padded by repeating its last frame, wherever
    training draws it or evaluation centres it."""
    from avbench.data.clips import eval_start, take_clip

    lengths = [default_plan.identities[v.driver].frames[v.clip] for v in default_plan.videos]
    assert min(lengths) == 160 and max(lengths) == 176
    for n in set(lengths):
        frames = np.arange(n)
        for start in (0, eval_start(n, 128), n - 128):
            clip = take_clip(frames, start, 128)
            assert len(np.unique(clip)) == 128, (n, start)


def test_default_plan_cross_drivers_share_the_targets_split(default_plan):
    ids = default_plan.identities
    for v in default_plan.videos:
        assert ids[v.driver].split == ids[v.target].split, v


def test_default_plan_self_reenactments_use_distinct_clips(default_plan):
    by_target: dict[str, list[int]] = {}
    for v in default_plan.videos:
        if v.generator != "original" and v.driver == v.target:
            by_target.setdefault(v.target, []).append(v.clip)
    assert set(by_target) == set(default_plan.identities)
    for target, clips in by_target.items():
        assert len(clips) == len(set(clips)) == 9, (target, clips)


def test_default_plan_spreads_cross_drivers(default_plan):
    """A target's cross-reenactments use as many distinct drivers as its split has peers,
    each driver equally often (round robin)."""
    ids = default_plan.identities
    c = default_plan.config
    need = c.cross_per_generator * len(c.generators)
    for name, ident in ids.items():
        drivers = Counter(v.driver for v in default_plan.videos if v.target == name and v.driver != name)
        peers = sum(1 for i in ids.values() if i.split == ident.split) - 1
        assert drivers.total() == need
        assert len(drivers) == min(need, peers), name
        assert max(drivers.values()) - min(drivers.values()) <= 1, name


def test_every_cross_reenactment_has_its_own_utterance(default_plan):
    """No motion sequence is shared between two generated videos, so a model can only link
    a driver's videos by motor style, not by recognising one recording."""
    used = Counter((v.driver, v.clip) for v in default_plan.videos if v.generator != "original")
    assert max(used.values()) == 1
    c = default_plan.config
    for v in default_plan.videos:  # self clips first, then the cross ones
        assert (v.clip < c.utterances) == (v.driver == v.target), v


def test_default_plan_paths_follow_nvfair(default_plan):
    ids = default_plan.identities
    for v in default_plan.videos:
        t, d = ids[v.target], ids[v.driver]
        if v.generator == "original":
            assert v.path == f"{t.source}/originals/{t.name}/{t.clips[v.clip]}.mp4"
        else:
            assert v.path == (f"{t.source}/{v.generator}-generated/{t.name}/"
                              f"{t.name}--{d.clips[v.clip]}--{d.name}.mp4")
        assert v.landmarks == v.path[:-4] + ".npy"


def test_plan_is_deterministic_and_seeded():
    a, b = make_plan(SynthConfig(seed=3)), make_plan(SynthConfig(seed=3))
    assert a.identities == b.identities and a.videos == b.videos
    c = make_plan(SynthConfig(seed=4))
    assert {n: i.split for n, i in a.identities.items()} != {n: i.split for n, i in c.identities.items()}


def test_plan_rejects_bad_configs():
    with pytest.raises(ValueError, match="--layout 'bogus'"):
        make_plan(SynthConfig(layout="bogus"))
    with pytest.raises(ValueError, match="min_frames"):
        make_plan(SynthConfig(min_frames=10, max_frames=9))
    with pytest.raises(ValueError, match="--identities 5"):
        make_plan(SynthConfig(identities=5))


def test_stable_rng_depends_only_on_seed_and_names():
    a = D.stable_rng(0, "id001", "clips").random(4)
    np.testing.assert_array_equal(a, D.stable_rng(0, "id001", "clips").random(4))
    assert not np.array_equal(a, D.stable_rng(1, "id001", "clips").random(4))
    assert not np.array_equal(a, D.stable_rng(0, "id002", "clips").random(4))


@pytest.mark.parametrize("identities", [36, 48, 60])
def test_avaprintdb_plan_names_are_avaprintdb_identities(identities):
    """Every identity the AVAPrintDB layout plans must be one the AVAPrintDB index accepts
    (C1001..C1091, Actor_01..Actor_24), or make_plan must refuse the config."""
    try:
        plan = make_plan(SynthConfig(identities=identities, layout="avaprintdb"))
    except ValueError:
        return
    unknown = sorted(n for n in plan.identities if avaprintdb.identity_source(n) is None)
    assert not unknown, f"{len(unknown)} planned identities the index rejects: {unknown}"


# --- writing and reading back (NVFAIR layout) -----------------------------------------

@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("w1") / "synth"
    calls = []
    synthesize(TINY, out, workers=1, progress=lambda d, t: calls.append((d, t)))
    return out, calls


@pytest.fixture(scope="module")
def written_index(written, tmp_path_factory):
    return nvfair.build_index(written[0], cache_dir=tmp_path_factory.mktemp("idxcache"))


def test_synthesize_returns_and_reports_progress(written):
    _out, calls = written
    n = len(make_plan(TINY).videos)
    assert n == 6 * (3 + 3 * 2) == 54
    assert calls[-1] == (n, n)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert {t for _, t in calls} == {n}


def test_written_tree(written):
    out, _ = written
    assert sorted(p.name for p in out.iterdir()) == [
        "CREMA-D", "NVIDIA-VC-subset", "RAVDESS", "subject_sources.txt", "synth_manifest.json",
        "train_val_test_splits.txt"]
    assert _partials(out.parent) == []
    plan = make_plan(TINY)
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    expected = {v.path for v in plan.videos} | {v.landmarks for v in plan.videos}
    assert files - {"subject_sources.txt", "synth_manifest.json", "train_val_test_splits.txt"} == expected


def test_manifest(written):
    out, _ = written
    m = json.loads((out / "synth_manifest.json").read_text())
    plan = make_plan(TINY)
    assert m["synth_version"] == D.SYNTH_VERSION
    assert m["config"] == json.loads(json.dumps(asdict(TINY)))
    assert [i["name"] for i in m["identities"]] == list(plan.identities)
    assert [v["path"] for v in m["videos"]] == sorted(v.path for v in plan.videos)
    assert {v["n_frames"] for v in m["videos"]} == {12}


def test_nvfair_index_reads_everything(written, written_index):
    idx = written_index
    plan = make_plan(TINY)
    assert idx.dataset == "nvfair"
    assert len(idx.skipped) == 0, idx.skipped.to_string()
    assert set(idx.videos["path"]) == {v.path for v in plan.videos}
    assert idx.generators == ("facevid2vid", "tps", "lia")
    assert Counter(idx.videos["kind"]) == {"original": 18, "self": 18, "cross": 18}
    assert int(idx.videos["is_original"].sum()) == 18
    by_path = {v.path: v for v in plan.videos}
    for row in idx.videos.itertuples():
        v = by_path[row.path]
        assert (row.generator, row.target, row.driver) == (v.generator, v.target, v.driver)
        assert row.driving_video == plan.identities[v.driver].clips[v.clip]
        assert row.split == plan.identities[v.target].split


def test_split_and_source_files_are_the_plans(written, written_index):
    out, _ = written
    plan = make_plan(TINY)
    assert read_nvfair_splits(out / "train_val_test_splits.txt") == {
        n: i.split for n, i in plan.identities.items()}
    assert read_nvfair_sources(out / "subject_sources.txt") == {
        n: i.source for n, i in plan.identities.items()}
    ids = written_index.identities.set_index("identity")
    assert ids["split"].to_dict() == {n: i.split for n, i in plan.identities.items()}
    assert ids["source"].to_dict() == {n: i.source for n, i in plan.identities.items()}
    assert any("from the dataset root" in n for n in written_index.notes)


def test_every_video_has_matching_landmarks(written, written_index):
    out, _ = written
    for row in written_index.videos.itertuples():
        assert row.landmarks == row.path[:-4] + ".npy"
        lm = np.load(out / row.landmarks)
        frames = decode_gray(out / row.path)
        assert frames.shape == (12, 128, 128)
        assert lm.shape == (len(frames), 68, 2) and lm.dtype == np.float32, row.path
        assert np.isfinite(lm).all()
        assert (lm > 0).all() and (lm < 128).all()


def test_written_files_are_the_rendered_video(written):
    """The .npy is the generator's ground truth exactly; the .mp4 decodes to its luma."""
    out, _ = written
    plan = make_plan(TINY)
    for v in plan.videos[::9]:
        frames, lm = D.render_video(TINY, plan.identities, v, {})
        np.testing.assert_array_equal(np.load(out / v.landmarks), lm)
        luma = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames]).astype(int)
        assert np.abs(decode_gray(out / v.path).astype(int) - luma).mean() < 2.0, v.path


def test_same_seed_same_frames_with_any_number_of_workers(written, tmp_path):
    out1, _ = written
    out2 = synthesize(TINY, tmp_path / "w2", workers=2)
    other = synthesize(replace(TINY, seed=1), tmp_path / "s1", workers=2)
    plan = make_plan(TINY)
    for v in plan.videos:
        np.testing.assert_array_equal(decode_gray(out1 / v.path), decode_gray(out2 / v.path), v.path)
        np.testing.assert_array_equal(np.load(out1 / v.landmarks), np.load(out2 / v.landmarks))
    assert (out1 / "synth_manifest.json").read_text() == (out2 / "synth_manifest.json").read_text()
    assert (out1 / "train_val_test_splits.txt").read_text() == (out2 / "train_val_test_splits.txt").read_text()
    # Another seed: other faces and motion (originals have seed-independent paths).
    originals = [v for v in plan.videos if v.generator == "original"]
    assert originals
    for v in originals:
        a, b = decode_gray(out1 / v.path), decode_gray(other / v.path)
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 5, v.path
    assert _partials(tmp_path) == []


def test_synthesize_refuses_a_non_empty_folder(tmp_path):
    out = tmp_path / "full"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=str(out)):
        synthesize(TINY, out, workers=1)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert _partials(tmp_path) == []


def test_synthesize_accepts_an_empty_folder(tmp_path, monkeypatch):
    out = tmp_path / "empty"
    out.mkdir()
    cfg = replace(TINY, min_frames=4, max_frames=4)
    assert synthesize(cfg, out, workers=1) == out
    assert (out / "synth_manifest.json").exists()
    assert _partials(tmp_path) == []


def test_failed_synthesis_leaves_nothing(tmp_path, monkeypatch):
    def boom(args):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(D, "_render_target", boom)
    with pytest.raises(RuntimeError, match="renderer failed"):
        synthesize(TINY, tmp_path / "out", workers=1)
    assert list(tmp_path.iterdir()) == []


# --- AVAPrintDB layout ----------------------------------------------------------------

AVA = SynthConfig(identities=6, layout="avaprintdb", self_per_generator=1, cross_per_generator=1,
                  min_frames=8, max_frames=8)


@pytest.fixture(scope="module")
def ava_written(tmp_path_factory):
    pytest.importorskip("mediapipe")
    out = synthesize(AVA, tmp_path_factory.mktemp("ava") / "ava", workers=2)
    idx = avaprintdb.build_index(out, cache_dir=tmp_path_factory.mktemp("avacache"))
    return out, idx


def test_avaprintdb_plan_layout():
    plan = make_plan(AVA)
    assert set(plan.identities) == {"C1001", "C1002", "C1003", "Actor_01", "Actor_02", "Actor_03"}
    for v in plan.videos:
        folder = "TEST" if plan.identities[v.target].split == "test" else "DEV"
        stem = Path(v.path).stem
        assert v.path == f"database/data/videos/{folder}/{stem}.mp4"
        assert v.landmarks == f"database/data/landmarks/{folder}/{stem}.npy"
        target, driver, uid, tag = stem.split("--")
        assert (target, driver) == (v.target, v.driver)
        assert tag == D.AVAPRINT_GEN[v.generator]
        assert len(uid) == 36


def test_avaprintdb_index_reads_every_video(ava_written):
    _out, idx = ava_written
    plan = make_plan(AVA)
    assert idx.dataset == "avaprintdb"
    assert len(idx.skipped) == 0, idx.skipped[["path", "reason", "detail"]].to_string()
    assert set(idx.videos["path"]) == {v.path.removeprefix("database/data/") for v in plan.videos}


def test_avaprintdb_index_test_split_is_the_plans(ava_written):
    _, idx = ava_written
    plan = make_plan(AVA)
    ids = idx.identities.set_index("identity")["split"].to_dict()
    assert {n for n, s in ids.items() if s == "test"} == {
        n for n, i in plan.identities.items() if i.split == "test"}


def test_avaprintdb_landmarks_are_mediapipe_109x3(ava_written):
    out, idx = ava_written
    root = out / "database" / "data"
    assert (idx.videos["landmarks"] != "").all()
    nan_frames = total = 0
    for row in idx.videos.itertuples():
        lm = np.load(root / row.landmarks)
        n = len(decode_gray(root / row.path))
        assert lm.shape == (n, 109, 3) and lm.dtype == np.float32, row.path
        nan_frames += int(np.isnan(lm).any(axis=(1, 2)).sum())
        total += n
    # The synthetic faces are faces to MediaPipe: found in (nearly) every frame.
    assert nan_frames <= 0.05 * total, (nan_frames, total)


def test_avaprintdb_writes_no_nvfair_split_files(ava_written):
    out, _ = ava_written
    assert sorted(p.name for p in out.iterdir()) == ["database", "synth_manifest.json"]


# --- CLI ------------------------------------------------------------------------------

def test_cli_synth_unknown_layout(run_cli, tmp_path):
    r = run_cli("data", "synth", "--out", str(tmp_path / "x"), "--layout", "bogus", "--identities", "6")
    assert r.returncode == 2, r.stderr
    assert "--layout" in r.stderr and "bogus" in r.stderr
    assert "nvfair" in r.stderr and "avaprintdb" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_cli_synth_refuses_non_empty_out_and_too_few_identities(run_cli, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "a").write_text("x")
    r = run_cli("data", "synth", "--out", str(full), "--identities", "6")
    assert r.returncode == 2, r.stderr
    assert "not empty" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("data", "synth", "--out", str(tmp_path / "y"), "--identities", "5")
    assert r.returncode == 2, r.stderr
    assert "--identities 5" in r.stderr
    assert not (tmp_path / "y").exists()


def test_progress_outside_a_terminal_prints_plain_lines(monkeypatch, capsys):
    """Outside a terminal Rich draws no bar until the end, so a long synthesis would look
    hung: the bar also prints plain lines (here as often as it is updated)."""
    from avbench import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    with progress.progress_bar("synthesising 6 identities") as update:
        update(27, 54)
        update(54, 54)
    err = capsys.readouterr().err
    assert "synthesising 6 identities: 27/54 (50 %), 0 s" in err
    assert "synthesising 6 identities: 54/54 (100 %), 0 s" in err


# --- the cached default ---------------------------------------------------------------

def test_ensure_dataset_writes_once(tmp_path, monkeypatch):
    from avbench.synth import default

    cfg = replace(TINY, min_frames=4, max_frames=4)
    cache = tmp_path / "cache"
    path = default.ensure_dataset(cfg, cache, workers=1)
    assert path == default.dataset_dir(cfg, cache)
    assert path.parent == cache / "synthetic"
    assert f"v{D.SYNTH_VERSION}" in path.name
    manifest = path / "synth_manifest.json"
    assert json.loads(manifest.read_text())["config"]["min_frames"] == 4
    before = manifest.stat().st_mtime_ns

    def no_rewrite(*a, **k):
        raise AssertionError("ensure_dataset re-synthesised an existing dataset")

    monkeypatch.setattr(default, "synthesize", no_rewrite)
    assert default.ensure_dataset(cfg, cache) == path
    assert manifest.stat().st_mtime_ns == before
    assert _partials(path.parent) == []


def test_default_dataset_dir_depends_on_the_whole_config(tmp_path):
    """The cache folder name must change whenever the written data would: two configs
    that write different data must not share (and silently reuse) one folder."""
    from avbench.synth.default import dataset_dir

    base = SynthConfig(identities=6)
    variants = [replace(base, min_frames=24, max_frames=24), replace(base, cross_per_generator=1),
                replace(base, self_per_generator=1), replace(base, size=64),
                replace(base, generators=("tps",))]
    dirs = {dataset_dir(c, tmp_path) for c in [base, *variants]}
    assert len(dirs) == 1 + len(variants), sorted(map(str, dirs))


# --- the synthetic dataset plugin -----------------------------------------------------

def test_plugin_indexes_an_explicit_path(written, written_index, tmp_path):
    from avbench.synth import plugin

    idx = plugin.build_index(written[0], cache_dir=tmp_path / "c")
    assert idx.dataset == "synthetic"
    assert len(idx.skipped) == 0
    assert idx.videos.equals(written_index.videos)
    assert idx.generators == ("facevid2vid", "tps", "lia")
    # Indexed again from its cache: still "synthetic".
    again = plugin.build_index(written[0], cache_dir=tmp_path / "c")
    assert again.dataset == "synthetic" and again.videos.equals(idx.videos)


def test_plugin_without_path_uses_the_cached_default(written, tmp_path, monkeypatch):
    """No PATH: the default dataset's folder in the cache; when its manifest exists
    nothing is synthesised."""
    import shutil

    from avbench.synth import default, plugin

    cache = tmp_path / "cache"
    target = default.dataset_dir(default.DEFAULT_CONFIG, cache)
    shutil.copytree(written[0], target)

    def no_synth(*a, **k):
        raise AssertionError("re-synthesised the default dataset")

    monkeypatch.setattr(default, "ensure_dataset", no_synth)
    monkeypatch.setattr(default, "synthesize", no_synth)
    idx = plugin.build_index(None, cache_dir=cache)
    assert idx.dataset == "synthetic"
    assert Path(idx.root) == target
    assert len(idx.videos) == 54


def test_plugin_registers_synthetic():
    from avbench.synth import plugin

    (spec,) = plugin.avbench_register_datasets()
    assert spec.name == "synthetic"
    assert spec.factory == "avbench.synth.plugin:build_index"
    assert spec.generators == ("facevid2vid", "tps", "lia")


@pytest.mark.parametrize(("identity", "source", "limit"), [("Actor_03", "RAVDESS", 64), ("1003", "CREMA-D", 72)])
def test_clip_names_are_unique_up_to_the_corpus_limit(identity, source, limit):
    names = [D._clip_name(identity, source, k) for k in range(limit)]
    assert len(set(names)) == limit
    with pytest.raises(ValueError, match=f"{identity}: .* allow {limit} clips per actor"):
        D._clip_name(identity, source, limit)
