"""Preprocessing engines: every task runs once, results come back with their task index."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from avbench.engines import map_tasks
from avbench.errors import UsageError


def test_local_pool_returns_every_result_once():
    got = dict(map_tasks(math.factorial, list(range(12)), "local", workers=2))
    assert got == {i: math.factorial(i) for i in range(12)}


def test_a_failing_task_raises_its_own_error():
    with pytest.raises(ValueError, match="not defined for negative values"):
        list(map_tasks(math.factorial, [3, -1, 4], "local", workers=2))


def test_unknown_engine_names_the_choices():
    with pytest.raises(UsageError, match="--engine 'ray': choose one of local, dask"):
        list(map_tasks(math.factorial, [1], "ray"))


def test_dask_local_cluster_gives_the_same_results(monkeypatch):
    pytest.importorskip("distributed", reason="the [cluster] extra is not installed")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    got = dict(map_tasks(math.factorial, list(range(8)), "dask", workers=2))
    assert got == {i: math.factorial(i) for i in range(8)}
