"""The benchmark functions run and report complete records (no timing is asserted)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avbench.bench.model import ModelBench, infer_throughput, train_throughput
from avbench.bench.pipeline import pipeline_throughput
from avbench.bench.scoring import PAIRS_PER_TARGET, score_table, scoring_time
from avbench.bench.suite import build_for_bench, describe, write
from avbench.data.loader import ClipSource
from avbench.registry import load_registry
from avbench.specs import InputKind

TINY = ModelBench(batch=16, clip_length=4, steps=1, warmup=0, precision="32-true")


@pytest.mark.parametrize("name", [s.name for s in load_registry().methods])
def test_every_method_has_train_and_infer_throughput(name):
    reg = load_registry()
    rec = train_throughput(build_for_bench(reg, name, 478), name, TINY, "cpu")
    assert rec["benchmark"] == "model_train" and rec["method"] == name
    assert rec["clips_per_s"] > 0 and rec["step_ms"] > 0 and rec["flops_per_step"] > 0
    assert rec["frames_per_s"] == pytest.approx(rec["clips_per_s"] * 4)
    assert rec["mfu"] is None and rec["peak_memory_gib"] is None  # CPU: no known peak, no CUDA
    rec = infer_throughput(build_for_bench(reg, name, 478), name, TINY, "cpu")
    assert rec["benchmark"] == "model_infer" and rec["flops_per_step"] > 0


def test_training_flops_exceed_inference_flops():
    reg = load_registry()
    train = train_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", TINY, "cpu")
    infer = infer_throughput(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", TINY, "cpu")
    assert 2.0 < train["flops_per_step"] / infer["flops_per_step"] < 4.0  # backward ~ 2x forward


def test_pipeline_and_scoring_records():
    frames = {f"v{i}": np.zeros((20, 8, 8), np.uint8) for i in range(8)}
    train = pd.DataFrame({"driver": [f"d{i % 4}" for i in range(8)]}, index=list(frames))
    rec = pipeline_throughput(ClipSource(frames, InputKind.FRAMES), train, "cpu", batch_drivers=2,
                              per_driver=2, clip_length=5, batches=3, warmup=1)
    assert rec["batch"] == 4 and rec["clips_per_s"] > 0
    assert rec["mb_per_s"] == pytest.approx(rec["clips_per_s"] * 5 * 64 / 1e6)
    table = score_table(10)
    assert len(table) == 10 * PAIRS_PER_TARGET and table["label"].sum() == 10 * 17
    rec = scoring_time(10, repeats=1)
    assert rec["pairs"] == 510 and rec["seconds"] > 0


def test_results_file_records_the_machine(tmp_path):
    path = write([{"benchmark": "scoring", "seconds": 1.0}], "cpu", tmp_path, label="x")
    payload = json.loads(path.read_text())
    assert path.name.startswith("bench-") and path.name.endswith("-x.json")
    m = payload["machine"]
    assert m["cpu_cores"] >= 1 and m["device"] == "cpu" and m["torch"] and m["memory_gib"] > 0
    assert payload["results"] == [{"benchmark": "scoring", "seconds": 1.0}]


def test_bench_command(run_cli, tmp_path):
    r = run_cli("bench", "--device", "cpu", "--method", "f5c_featdiff", "--what", "train,reference,scoring",
                "--batch", "16", "--clip-length", "4", "--steps", "1", "--warmup", "0",
                "--precision", "32-true", "--targets", "16", "--out", "out")
    assert r.returncode == 0, r.stderr
    files = list((tmp_path / "out").glob("bench-*.json"))
    assert len(files) == 1
    kinds = [x["benchmark"] for x in json.loads(files[0].read_text())["results"]]
    assert kinds == ["model_train", "reference_train", "scoring"]
    assert "the reference's per-frame loop, FP16, B=16 T=4" in r.stdout
    assert "x the reference" in r.stdout  # the ratio, measured in the same run
    r = run_cli("bench", "--device", "cpu", "--what", "trian")
    assert r.returncode == 2 and ("--what trian: choose from train, infer, reference, profile, e2e, "
                                  "pipeline, landmarks, latency, scoring") in r.stderr


def test_end_to_end_record_reads_real_batches():
    from avbench.bench.end_to_end import end_to_end_throughput

    rng = np.random.default_rng(0)
    frames = {f"v{i}": rng.integers(0, 255, (12, 128, 128), dtype=np.uint8) for i in range(8)}
    train = pd.DataFrame({"driver": [f"d{i % 4}" for i in range(8)]}, index=list(frames))
    cfg = ModelBench(batch=16, clip_length=4, steps=1, warmup=0, precision="32-true")
    method = build_for_bench(load_registry(), "f5c_featdiff", 478)
    rec = end_to_end_throughput(method, "f5c_featdiff", ClipSource(frames, InputKind.FRAMES), train,
                                cfg, "cpu", workers=2)
    assert rec["benchmark"] == "end_to_end_train" and rec["loader_workers"] == 2
    assert rec["clips_per_s"] > 0 and rec["mfu"] is None
    # the same steps on a resident batch, and the host's time split from its wait for the device
    assert rec["resident_clips_per_s"] > 0
    assert rec["data_path_share"] == pytest.approx(rec["clips_per_s"] / rec["resident_clips_per_s"])
    assert 0 <= rec["wait_ms_per_step"] <= rec["step_ms"]
    assert rec["host_ms_per_step"] + rec["wait_ms_per_step"] == pytest.approx(rec["step_ms"])
    assert "of one batch resident" in describe(rec)


def test_verification_latency_stages(tmp_path):
    from helpers import FakeExtractor, write_video

    from avbench.bench.latency import verification_latency

    video = tmp_path / "v.mp4"
    write_video(video, n_frames=20, size=64)
    reg = load_registry()
    frames = verification_latency(build_for_bench(reg, "f5c_featdiff", 478), "f5c_featdiff", video,
                                  8, "cpu", repeats=1)
    assert frames["input"] == "frames" and frames["landmarks_ms"] is None and frames["video_frames"] == 20
    assert frames["total_ms"] == pytest.approx(frames["decode_ms"] + frames["embed_ms"])
    marks = verification_latency(build_for_bench(reg, "stgcn", 68), "stgcn", video, 8, "cpu",
                                 extractor=FakeExtractor(), repeats=1)  # 68 points: iBUG graph
    assert marks["landmarks_ms"] > 0
    assert marks["total_ms"] == pytest.approx(marks["decode_ms"] + marks["landmarks_ms"] + marks["embed_ms"])
    with pytest.raises(ValueError, match="stgcn reads landmarks: pass an extractor"):
        verification_latency(build_for_bench(reg, "stgcn", 478), "stgcn", video, 8, "cpu")


def test_landmark_extraction_record(tmp_path):
    from helpers import write_video

    from avbench.bench.landmarks import extraction_throughput
    from avbench.specs import LandmarkExtractorSpec

    fake = LandmarkExtractorSpec(name="fake", summary="", factory="helpers:FakeExtractor", n_points=68)
    for i in range(3):
        write_video(tmp_path / f"v{i}.mp4", n_frames=12, seed=i)
    videos = pd.DataFrame({"path": [f"v{i}.mp4" for i in range(3)], "generator": ["tps"] * 3})
    rec = extraction_throughput(tmp_path, videos, fake, workers=1)
    assert rec["videos"] == 3 and rec["frames"] == 36 and rec["skipped_videos"] == 0
    assert rec["failure_rate"] == pytest.approx(9 / 36)  # FakeExtractor: every 4th frame has no face
    assert rec["frames_per_s"] > 0 and rec["frames_per_s_per_worker"] > 0
    assert not list(tmp_path.glob("landmarks*"))  # a temporary cache, never the dataset folder


def test_profile_writes_the_kernel_table_and_ranks_the_top_entries(run_cli, tmp_path):
    r = run_cli("bench", "--device", "cpu", "--method", "f5c_featdiff", "--what", "profile",
                "--batch", "8", "--clip-length", "4", "--steps", "2", "--warmup", "1",
                "--precision", "32-true", "--out", "out")
    assert r.returncode == 0, r.stderr
    [record] = json.loads(next((tmp_path / "out").glob("bench-*.json")).read_text())["results"]
    assert record["benchmark"] == "profile" and record["steps"] == 2
    table = tmp_path / "out" / "profile-f5c_featdiff-32-true.txt"
    assert record["table"] == str(table.relative_to(tmp_path)) and "Self CPU" in table.read_text()
    assert (tmp_path / "out" / "profile-f5c_featdiff-32-true.trace.json").stat().st_size > 0
    shares = [e["share"] for e in record["top"]]
    assert 0 < len(shares) <= 25 and shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-9
    assert "ms of operators per step; first: " in " ".join(r.stdout.split())


def test_a_weakly_scaled_end_to_end_record_says_how_the_batch_was_spread():
    from avbench.bench.suite import describe

    record = {"benchmark": "end_to_end_train", "method": "f5c_featdiff", "precision": "bf16-mixed",
              "batch": 256, "clip_length": 64, "compile": True, "devices": 2, "scaling": "weak",
              "batch_per_device": 128}
    assert describe(record) == ("f5c_featdiff bf16-mixed B=256 T=64 compiled on 2 processes "
                                "(weak scaling, 128 clips each)")
    assert describe({**record, "devices": 1}) == "f5c_featdiff bf16-mixed B=256 T=64 compiled"
    assert describe({**record, "devices": 1, "compile_mode": "reduce-overhead"}) == (
        "f5c_featdiff bf16-mixed B=256 T=64 compiled (reduce-overhead)")


def test_loader_threads_come_from_the_environment_when_given(monkeypatch):
    from avbench.errors import TrainingError
    from avbench.training import loader_workers

    monkeypatch.delenv("AVBENCH_LOADER_THREADS", raising=False)
    assert 1 <= loader_workers() <= 8
    monkeypatch.setenv("AVBENCH_LOADER_THREADS", "12")
    assert loader_workers() == 12
    monkeypatch.setenv("AVBENCH_LOADER_THREADS", "many")
    with pytest.raises(TrainingError, match="AVBENCH_LOADER_THREADS='many': give a whole number"):
        loader_workers()


def test_bench_options_are_checked_before_any_measurement(run_cli):
    r = run_cli("bench", "--device", "cpu", "--what", "e2e", "--loader-threads", "4,x")
    assert r.returncode == 2 and "--loader-threads 4,x: give whole numbers" in r.stderr
    r = run_cli("bench", "--device", "cpu", "--what", "e2e", "--scaling", "wide")
    assert r.returncode == 2 and "--scaling 'wide': choose strong or weak" in r.stderr
    r = run_cli("bench", "--device", "cpu", "--compile", "--compile-mode", "fast")
    assert r.returncode == 2 and "--compile-mode 'fast': choose one of default, reduce-overhead" in r.stderr
