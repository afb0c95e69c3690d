"""The same seed on CPU gives the same metrics to the last digit; another seed does not."""

from __future__ import annotations

from avbench.registry import load_registry
from avbench.results import ResultsStore
from avbench.runner import RunRequest, execute, plan_run
from avbench.scores import read_scores


def _run(tiny_synthetic, tmp_path, seed: int, name: str):
    reg = load_registry()
    plan = plan_run(reg, RunRequest(method="f5c_featdiff", protocol="per_gen", device="cpu",
                                    profile="smoke", seed=seed, data=f"synthetic:{tiny_synthetic}"))
    store = ResultsStore(tmp_path / name / "results.sqlite")
    rows = [r for o in execute(plan, store=store, cache_dir=tmp_path / "cache") for r in o.rows]
    return {r.test_group: (r.metrics, read_scores(store.resolve(r.score_file))["score"].tolist(), r)
            for r in rows}


def test_same_seed_same_metrics_to_the_last_digit(tiny_synthetic, tmp_path):
    first = _run(tiny_synthetic, tmp_path, 0, "a")
    again = _run(tiny_synthetic, tmp_path, 0, "b")
    other = _run(tiny_synthetic, tmp_path, 1, "c")
    assert sorted(first) == sorted(again) == ["all", "facevid2vid", "lia", "tps"]
    for group, (metrics, scores, row) in first.items():
        metrics_b, scores_b, row_b = again[group]
        assert metrics_b == metrics and scores_b == scores  # exact equality, floats included
        assert row_b.run_key == row.run_key
        # what a row needs to be reproduced: config, dataset fingerprint, seed, code and environment
        assert row.config["training"]["epochs"] == 1 and row.config["method"]["condition"] == "featdiff"
        assert row.seed == 0 and row.dataset_fingerprint and row.environment["torch"]
        assert row.environment["packages"]["numpy"] and row.profile == "smoke"
    assert any(other[g][1] != first[g][1] for g in first)  # a different seed trains differently


def test_the_stored_command_reproduces_the_row(run_cli, tiny_synthetic, tmp_path):
    import shlex

    def rows(db):
        store = ResultsStore(db)
        return {r.test_group: (r, read_scores(store.resolve(r.score_file))["score"].tolist())
                for r in store.rows()}

    one_thread = {"OMP_NUM_THREADS": "1"}  # both in fresh processes with one float order
    first = run_cli("run", "--method", "f5c_featdiff", "--protocol", "per_gen", "--profile", "smoke",
                    "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}",
                    "--db", str(tmp_path / "a" / "results.sqlite"), env=one_thread)
    assert first.returncode == 0, first.stderr[-2000:]
    stored = rows(tmp_path / "a" / "results.sqlite")
    command = shlex.split(stored["all"][0].environment["command"])
    assert command[:2] == ["avbench", "run"] and "--cell" not in command
    assert command[-2:] == ["--db", str(tmp_path / "a" / "results.sqlite")]  # into the same results
    r = run_cli(*command[1:-2], "--db", str(tmp_path / "b" / "results.sqlite"), env=one_thread)
    assert r.returncode == 0, r.stderr[-2000:]
    again = rows(tmp_path / "b" / "results.sqlite")
    assert sorted(again) == sorted(stored) == ["all", "facevid2vid", "lia", "tps"]
    for group, (row, scores) in stored.items():
        assert again[group][0].run_key == row.run_key and again[group][0].metrics == row.metrics
        assert again[group][1] == scores
