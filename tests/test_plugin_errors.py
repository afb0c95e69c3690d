"""An exception inside a third-party method is reported with the plugin's name and leaves
the results store as it was."""

from __future__ import annotations

import sqlite3

from helpers import make_plugin_dist

BOOM = """
import torch
from torch import nn

from avbench.hookspecs import hookimpl
from avbench.method import Method
from avbench.specs import InputKind, MethodSpec


class Boom(Method):
    def __init__(self, config=None):
        super().__init__(config)
        self.lin = nn.Linear(1, 8)

    def embed(self, clips):
        x = clips.float().mean(dim=(1, 2, 3, 4))[:, None]
        return nn.functional.normalize(self.lin(x) + 1.0, dim=1)

    def loss(self, clips, drivers, targets):
        raise RuntimeError("exploded in loss")


@hookimpl
def avbench_register_methods():
    return [MethodSpec(name="boom", summary="raises in training", factory="boom_plugin:Boom",
                       input=InputKind.FRAMES)]
"""


def _rows(db) -> list:
    con = sqlite3.connect(db)
    rows = con.execute("select method, cell from results").fetchall()
    con.close()
    return rows


def test_a_failing_method_names_its_plugin_and_stores_nothing(run_cli, tiny_synthetic, tmp_path):
    site = make_plugin_dist(tmp_path / "site", "avbench-boom", {"boom_plugin": BOOM}, {"boom": "boom_plugin"})
    db = tmp_path / "results.sqlite"
    common = ["--profile", "smoke", "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--db", str(db)]
    good = run_cli("run", "--method", "f5c_static", "--protocol", "overall", *common, pythonpath=[site])
    assert good.returncode == 0, good.stderr[-2000:]
    before = _rows(db)
    r = run_cli("run", "--method", "boom", "--protocol", "per_gen", *common, pythonpath=[site])
    assert r.returncode == 1
    assert "method 'boom' (plugin 'boom') failed while training cell all" in r.stderr
    assert "RuntimeError: exploded in loss" in r.stderr and "boom_plugin.py" in r.stderr
    assert "Traceback" not in r.stderr
    assert _rows(db) == before == [("f5c_static", "all")]
