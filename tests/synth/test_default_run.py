"""`avbench run` with no --data uses the embedded default dataset (made once, then cached)."""

from __future__ import annotations

from helpers import make_plugin_dist, readme_block


def test_run_without_data_uses_the_default_synthetic_dataset(run_cli, tmp_path, default_synthetic):
    source = readme_block("python", "# avbench_motion_energy.py")
    site = make_plugin_dist(tmp_path / "site", "me", {"avbench_motion_energy": source},
                            {"me": "avbench_motion_energy"})
    env = {"AVBENCH_CACHE_DIR": str(default_synthetic.cache_dir)}  # the session's default copy
    r = run_cli("run", "--method", "motion_energy", "--protocol", "per_gen", "--device", "cpu",
                "--profile", "smoke", "--db", str(tmp_path / "r.sqlite"), pythonpath=[site], env=env)
    assert "data synthetic (2592 videos" in r.stdout, r.stdout + r.stderr
    assert "making the default synthetic dataset" not in r.stderr  # it was already there
    assert "cell all: train on facevid2vid, tps, lia, T=8, evaluate on all, facevid2vid, tps, lia" in r.stdout
    assert "pre-flight ok: 8,256 parameters, embedding dim 64, clip (8, 1, 128, 128)" in r.stdout
    assert r.returncode == 0, r.stderr
    header = next(ln for ln in r.stdout.splitlines() if ln.startswith("┃ cell"))
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == ["cell", "all", "facevid2vid", "tps", "lia"]


def test_data_index_of_the_default(run_cli, default_synthetic):
    env = {"AVBENCH_CACHE_DIR": str(default_synthetic.cache_dir)}
    r = run_cli("data", "index", "synthetic", env=env)
    assert r.returncode == 0, r.stderr
    assert "skipped files: none" in r.stdout
    rows = [[c.strip() for c in ln.strip("│ ").split("│")] for ln in r.stdout.splitlines() if ln.startswith("│")]
    assert ["total", "972", "648", "972", "2592"] in rows  # self, cross, original, total
    assert ["test", "23", "23", "23"] in rows  # identities listed, with videos, as target
