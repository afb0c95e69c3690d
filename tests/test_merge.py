"""Merging results folders: rows the destination lacks, with their score files and models."""

from __future__ import annotations

import dataclasses

import pytest
from typer.testing import CliRunner

from avbench.cli import app
from avbench.merge import MergeError, merge_results
from avbench.results import ResultRow, ResultsStore
from avbench.scores import file_sha256


def _row(store: ResultsStore, seed: int, *, model: bool = True, score: bytes | None = None) -> ResultRow:
    """A row of ``store`` with a score file (and a model folder) written in its runs folder."""
    runs = store.runs_dir
    score_path = runs / "f5c_featdiff" / "overall" / f"all-{seed}" / "scores-all.parquet"
    score_path.parent.mkdir(parents=True, exist_ok=True)
    score_path.write_bytes(score if score is not None else f"scores of seed {seed}".encode())
    model_dir = runs / "models" / "f5c_featdiff" / f"seed{seed}-abc"
    if model:
        model_dir.mkdir(parents=True, exist_ok=True)
        (model_dir / "best.safetensors").write_bytes(b"weights %d" % seed)
        (model_dir / "best.json").write_text("{}")
        (model_dir / "run.lock").write_text("")
    row = ResultRow(
        method="f5c_featdiff", protocol="overall", protocol_version="1", cell="all", test_group="all",
        dataset="synthetic", dataset_fingerprint="fp", seed=seed, metrics={"mean_target_auc": 0.8},
        main_score=0.8, score_file=store.relative(score_path), score_sha256=file_sha256(score_path),
        checkpoint=store.relative(model_dir / "best.safetensors"))
    return store.add(row)


def test_rows_files_and_models_are_copied_into_the_destination(tmp_path):
    a = ResultsStore(tmp_path / "a" / "a.sqlite")  # runs-a.sqlite/ beside it
    b = ResultsStore(tmp_path / "b" / "results.sqlite")  # runs/ beside it
    _row(a, 0)
    _row(a, 1)
    _row(b, 2, model=False)
    dest = ResultsStore(tmp_path / "merged" / "results.sqlite")

    report = merge_results([a.path, b.path], dest.path)

    assert report.added == {str(a.path): 2, str(b.path): 1}
    assert report.models_copied == 2
    assert report.models_missing == ["runs/models/f5c_featdiff/seed2-abc/best.safetensors"]
    rows = dest.rows()
    assert [r.seed for r in rows] == [0, 1, 2]
    for r in rows:
        assert r.score_file.startswith("runs/f5c_featdiff/overall/")
        assert dest.score_file(r.score_file, r.run_key, r.score_sha256).read_bytes() == \
            f"scores of seed {r.seed}".encode()
    model = tmp_path / "merged" / "runs" / "models" / "f5c_featdiff" / "seed0-abc"
    assert sorted(p.name for p in model.iterdir()) == ["best.json", "best.safetensors"]
    assert rows[0].checkpoint == "runs/models/f5c_featdiff/seed0-abc/best.safetensors"

    again = merge_results([a.path, b.path], dest.path)
    assert again.total_added == 0 and again.already_present == {str(a.path): 2, str(b.path): 1}
    assert len(dest) == 3


def test_the_newest_row_of_a_run_key_is_taken(tmp_path):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    first = _row(a, 0)
    a.add(dataclasses.replace(first, id=None, main_score=0.9))  # a forced re-run
    dest = ResultsStore(tmp_path / "m" / "results.sqlite")
    merge_results([a.path], dest.path)
    assert [r.main_score for r in dest.rows()] == [0.9]


def test_a_score_file_that_is_not_its_rows_is_refused_and_nothing_is_stored(tmp_path):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    row = _row(a, 0)
    (a.path.parent / row.score_file).write_bytes(b"written over")
    dest = tmp_path / "m" / "results.sqlite"
    with pytest.raises(MergeError, match="scores-all.parquet is not the one"):
        merge_results([a.path], dest)
    assert not dest.exists() or len(ResultsStore(dest)) == 0


def test_a_destination_file_with_other_bytes_is_never_overwritten(tmp_path):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    _row(a, 0)
    other = ResultsStore(tmp_path / "m" / "results.sqlite")
    _row(other, 0, score=b"another measurement")
    other_rows = other.rows()
    # a row under another run key that wrote the same run folder differently
    a_row = a.rows()[0]
    a.add(dataclasses.replace(a_row, id=None, run_key="k" * 32))
    with pytest.raises(MergeError, match="already exists with other contents"):
        merge_results([a.path], other.path)
    assert other.rows() == other_rows
    assert (other.path.parent / other_rows[0].score_file).read_bytes() == b"another measurement"


def test_paths_leaving_the_source_folder_are_refused(tmp_path):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    row = _row(a, 0)
    outside = tmp_path / "secret.parquet"
    outside.write_bytes(b"x")
    a.add(dataclasses.replace(row, id=None, run_key="k" * 32, score_file="../secret.parquet",
                              score_sha256=file_sha256(outside)))
    with pytest.raises(MergeError, match="outside the results folder"):
        merge_results([a.path], tmp_path / "m" / "results.sqlite")


def test_missing_source_and_self_merge_are_errors(tmp_path):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    _row(a, 0)
    with pytest.raises(MergeError, match="nope.sqlite: no such results database"):
        merge_results([tmp_path / "nope.sqlite"], a.path)
    with pytest.raises(MergeError, match="is the destination itself"):
        merge_results([a.path], a.path)


def test_cli_merge(tmp_path, run_cli):
    a = ResultsStore(tmp_path / "a" / "results.sqlite")
    _row(a, 0)
    _row(a, 1, model=False)
    dest = tmp_path / "m" / "results.sqlite"
    result = CliRunner().invoke(app, ["results", "merge", str(a.path), "--db", str(dest)])
    assert result.exit_code == 0, result.output
    assert f"{a.path}: 2 rows added, 0 already present" in result.output
    assert "1 model folders copied" in result.output
    assert "runs/models/f5c_featdiff/seed1-abc/best.safetensors" in result.output
    missing = run_cli("results", "merge", str(tmp_path / "x.sqlite"), "--db", str(dest))
    assert missing.returncode == 1
    assert f"error: {tmp_path / 'x.sqlite'}: no such results database" in missing.stderr


def test_cli_halve_models_rewrites_every_model_of_the_folder(tmp_path):
    from avbench.checkpoints import read_checkpoint_meta, save_checkpoint
    from avbench.registry import load_registry
    from avbench.runner import build_method

    store = ResultsStore(tmp_path / "results.sqlite")
    method = build_method(load_registry().methods.get("nvfair_ldmk_tcnn"),
                          {"n_points": 68, "width": 16, "dilations": (1, 2)})
    row = _row(store, 0, model=False)
    model = store.path.parent / row.checkpoint
    save_checkpoint(model, method, {"seed": 0}, method_name="nvfair_ldmk_tcnn")
    store.add(dataclasses.replace(row, id=None, run_key="k" * 32))  # two rows, one model
    full = model.stat().st_size

    result = CliRunner().invoke(app, ["results", "halve-models", "--db", str(store.path)])

    assert result.exit_code == 0, result.output
    assert "1 models:" in result.output and "runs/models/f5c_featdiff/seed0-abc/best.safetensors" in result.output
    assert model.stat().st_size < 0.55 * full
    assert read_checkpoint_meta(model)["weights_dtype"] == "float16"
