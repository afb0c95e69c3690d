"""``avbench leaderboard publish`` and ``avbench compare`` as a user runs them."""

from __future__ import annotations

from conftest import add_result, fill_store

from avbench.results import ResultsStore


def test_publish_and_compare_from_the_command_line(run_cli, tmp_path):
    db = tmp_path / "results" / "results.sqlite"
    fill_store(ResultsStore(db))
    r = run_cli("leaderboard", "publish", "--db", str(db), "--out", "boards", "--dataset", "synthetic")
    assert r.returncode == 0, r.stderr
    assert "published boards/synthetic/index.html" in r.stdout
    assert (tmp_path / "boards" / "synthetic" / "README.md").is_file()
    assert not (tmp_path / "boards" / "nvfair").exists()  # only the board asked for
    other = tmp_path / "other" / "results.sqlite"
    add_result(ResultsStore(other), "f5c_static", "overall", "all", "all", 0.3)
    r = run_cli("leaderboard", "publish", "--db", str(other), "--out", "boards")
    assert r.returncode == 1 and "pass --replace to overwrite that board" in r.stderr
    assert not (tmp_path / "boards" / "nvfair").exists()  # checked before anything was written
    r = run_cli("leaderboard", "publish", "--db", str(other), "--out", "boards", "--replace",
                "--dataset", "synthetic")
    assert r.returncode == 0, r.stderr

    r = run_cli("compare", "f5c_featdiff", "f5c_static", "--protocol", "overall", "--db", str(db))
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "overall v1" in ln)
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells[0] == "synthetic" and cells[2] == "all"
    a, b, delta = float(cells[3]), float(cells[4]), float(cells[5])
    assert abs((a - b) - delta) <= 0.0015 and delta > 0 and cells[6].startswith("[")


def test_command_line_errors_name_the_fix(run_cli, tmp_path):
    r = run_cli("leaderboard", "publish", "--db", str(tmp_path / "nothing.sqlite"))
    assert r.returncode == 2 and "no results database there; run `avbench run` first" in r.stderr
    db = tmp_path / "results" / "results.sqlite"
    fill_store(ResultsStore(db))
    r = run_cli("compare", "f5c_featdif", "f5c_static", "--db", str(db))
    assert r.returncode == 2 and "Did you mean 'f5c_featdiff'?" in r.stderr
    r = run_cli("compare", "f5c_featdiff", "stgcn", "--protocol", "cross_gen", "--db", str(db))
    assert r.returncode == 2 and "share no evaluated cell under protocol 'cross_gen'" in r.stderr


def test_compare_as_json_for_scripts(run_cli, tmp_path):
    import json

    db = tmp_path / "results" / "results.sqlite"
    fill_store(ResultsStore(db))
    r = run_cli("compare", "f5c_featdiff", "f5c_static", "--protocol", "per_gen", "--db", str(db), "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["test_group"] for row in rows] == ["all", "facevid2vid", "tps", "lia"]
    for row in rows:
        assert row["a_auc"] - row["b_auc"] == __import__("pytest").approx(row["delta"], abs=1e-9)
        assert row["ci_low"] <= row["delta"] <= row["ci_high"] and row["n_targets"] == 8
