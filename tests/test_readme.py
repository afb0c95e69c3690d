"""The README's plugin example, run exactly as printed, through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import make_plugin_dist, readme_block

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quick_start_is_two_command_lines():
    quick = README.read_text().split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", quick, flags=re.S)[0]
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "avbench run --method f5c_featdiff --protocol cross_gen" in lines[0]
    assert lines[1] == "python -m pytest"
    assert "python -m pytest" in (README.parent / ".ci" / "run").read_text()


def test_readme_plugin_runs_through_the_cli(run_cli, tmp_path, tiny_synthetic):
    source = readme_block("python", "# avbench_motion_energy.py")
    toml = readme_block("toml", "[project.entry-points.avbench]")
    name, module = re.search(r'^(\S+) = "(\S+)"', toml, flags=re.M).groups()
    site = make_plugin_dist(tmp_path / "site", "avbench-motion-energy",
                            {module: source}, {name: module})

    r = run_cli("list", "methods", pythonpath=[site])
    assert r.returncode == 0, r.stderr
    assert "motion_energy" in r.stdout and "input: frames" in r.stdout

    db = tmp_path / "results.sqlite"
    r = run_cli("run", "--method", "motion_energy", "--protocol", "cross_gen", "--profile", "smoke",
                "--data", f"synthetic:{tiny_synthetic}", "--device", "cpu", "--db", str(db),
                pythonpath=[site])
    assert r.returncode == 0, r.stderr
    assert "cell train_tps: train on tps, T=8, evaluate on facevid2vid, tps, lia" in r.stdout
    assert "pre-flight ok: 8,256 parameters, embedding dim 64, clip (8, 1, 128, 128)" in r.stdout
    # The 3x3 table: one row per training generator, one column per test generator.
    rows = [ln for ln in r.stdout.splitlines() if ln.startswith("│ train_")]
    assert len(rows) == 3 and all(ln.count("[") == 3 for ln in rows)

    from avbench.results import ResultsStore

    stored = ResultsStore(db).all()
    assert len(stored) == 9 and set(stored["method"]) == {"motion_energy"}


def test_readme_contract_check_passes_on_the_readme_plugin(tmp_path):
    """The plugin test the README shows, run as printed on the README's own plugin."""
    import subprocess
    import sys

    source = readme_block("python", "# avbench_motion_energy.py")
    toml = readme_block("toml", "[project.entry-points.avbench]")
    name, module = re.search(r'^(\S+) = "(\S+)"', toml, flags=re.M).groups()
    site = make_plugin_dist(tmp_path / "site", "avbench-motion-energy", {module: source}, {name: module})
    test = readme_block("python", "from avbench.testing import check_method")
    script = test + "\ntest_motion_energy_keeps_the_contract()\nprint('contract kept')\n"
    env = {**__import__("os").environ, "PYTHONPATH": f"{site}:{__import__('os').environ.get('PYTHONPATH', '')}"}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "contract kept"
