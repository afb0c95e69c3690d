"""avbench verify, embed and the Python API on a smoke-trained model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from avbench import api
from avbench.errors import UsageError


@pytest.fixture(scope="module")
def trained(tiny_synthetic, tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    db = folder / "results.sqlite"
    rows = api.run("f5c_featdiff", "overall", f"synthetic:{tiny_synthetic}", device="cpu",
                   profile="smoke", db=db, cache_dir=folder / "cache")
    return rows, db, folder


def test_run_returns_the_stored_rows_as_a_frame(trained):
    rows, db, _ = trained
    assert len(rows) == 1 and rows["method"].iloc[0] == "f5c_featdiff"
    stored = api.results(db, method="f5c_featdiff")
    assert stored["id"].tolist() == rows["id"].tolist()
    assert stored["main_score"].tolist() == rows["main_score"].tolist()


def test_embed_gives_one_unit_embedding_per_video_with_index_columns(trained, tiny_synthetic):
    rows, db, folder = trained
    emb = api.embed(f"synthetic:{tiny_synthetic}", run=int(rows["id"].iloc[0]), split="test", db=db,
                    device="cpu", cache_dir=folder / "cache")
    from avbench.data.spec import open_dataset
    from avbench.registry import load_registry

    index = open_dataset(load_registry(), f"synthetic:{tiny_synthetic}")
    test = index.videos[index.videos["split"] == "test"]
    assert emb["path"].tolist() == test["path"].tolist()
    assert {"path", "generator", "target", "driver", "kind", "split", "embedding"} <= set(emb.columns)
    vectors = np.stack(emb["embedding"].to_numpy())
    assert vectors.shape == (len(test), 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert emb.attrs["dataset_fingerprint"] == index.fingerprint and emb.attrs["left_out"] == []


def test_verify_scores_a_pair_as_the_score_table_does(trained, tiny_synthetic):
    rows, db, folder = trained
    row = api.results(db).iloc[0]
    from avbench.results import ResultsStore

    store = ResultsStore(db)
    scores = pd.read_parquet(store.resolve(row["score_file"]))
    first = scores.iloc[0]
    v = api.verify(tiny_synthetic / first["a_path"], tiny_synthetic / first["b_path"],
                   run=int(row["id"]), db=db, cache_dir=folder / "cache")
    assert v.score == pytest.approx(first["score"], abs=1e-5)  # the pair's stored score
    assert v.threshold is None or v.same_driver == (v.score >= v.threshold)
    assert v.seconds > 0


def test_verify_and_embed_from_the_command_line(trained, tiny_synthetic, run_cli):
    rows, db, folder = trained
    env = {"AVBENCH_CACHE_DIR": str(folder / "cache")}
    videos = sorted(tiny_synthetic.rglob("*.mp4"))
    r = run_cli("verify", str(videos[0]), str(videos[1]), "--run", str(int(rows["id"].iloc[0])),
                "--db", str(db), "--json", env=env)
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout)
    assert set(verdict) == {"a", "b", "score", "threshold", "same_driver", "seconds"}
    out = folder / "emb.parquet"
    r = run_cli("embed", f"synthetic:{tiny_synthetic}", "--run", str(int(rows["id"].iloc[0])),
                "--db", str(db), "--out", str(out), "--split", "val", "--device", "cpu", env=env)
    assert r.returncode == 0, r.stderr
    assert len(pd.read_parquet(out)) > 0 and str(out) in r.stdout
    bad = run_cli("embed", "--checkpoint", "m.safetensors", "--out", "x.csv")
    assert bad.returncode == 2 and "give a .parquet file name" in bad.stderr
    missing = run_cli("verify", str(videos[0]), "nope.mp4", "--run", str(int(rows["id"].iloc[0])),
                      "--db", str(db), env=env)
    assert missing.returncode == 2 and "nope.mp4: no such video file" in missing.stderr


def test_the_model_must_be_named_once(trained):
    with pytest.raises(UsageError, match="give exactly one of run=ID"):
        api.evaluate()
    with pytest.raises(UsageError, match="give exactly one of --run ID"):
        api.verify("a.mp4", "b.mp4")
