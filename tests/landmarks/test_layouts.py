"""Landmark graphs and layouts (avbench/landmarks/layouts.py): node and edge counts, symmetry, anchors."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from avbench.errors import UsageError
from avbench.landmarks.layouts import layout_for


def _connected(n: int, edges: np.ndarray) -> bool:
    adj = defaultdict(set)
    for i, j in edges:
        adj[int(i)].add(int(j))
        adj[int(j)].add(int(i))
    seen, stack = {0}, [0]
    while stack:
        for y in adj[stack.pop()] - seen:
            seen.add(y)
            stack.append(y)
    return len(seen) == n


@pytest.mark.parametrize(("n_points", "name", "nodes", "edges"), [
    (478, "mediapipe478", 109, 306), (468, "mediapipe478", 109, 306),
    (109, "avaprintdb109", 109, 306), (68, "ibug68", 68, 84)])
def test_graph_sizes_and_shape(n_points, name, nodes, edges):
    lay = layout_for(n_points)
    assert (lay.name, lay.size, len(lay.edges)) == (name, nodes, edges)
    e = lay.edges
    assert e.min() == 0 and e.max() == nodes - 1
    assert not (e[:, 0] == e[:, 1]).any()  # no self loops
    assert len({tuple(sorted(p)) for p in e.tolist()}) == edges  # no duplicates
    assert _connected(nodes, e)


@pytest.mark.parametrize("n_points", [478, 109, 68])
def test_edge_index_is_symmetric(n_points):
    ei = layout_for(n_points).edge_index()
    assert ei.shape == (2, 2 * len(layout_for(n_points).edges)) and ei.dtype == np.int64
    pairs = set(map(tuple, ei.T.tolist()))
    assert all((j, i) in pairs for i, j in pairs)


def test_mediapipe_subset_and_anchors_follow_avaprintdb():
    lay = layout_for(478)
    assert len(lay.subset) == 109 and len(set(lay.subset)) == 109
    assert lay.subset[lay.nose] == 4  # nose tip
    assert (lay.subset[lay.eye_inner[0]], lay.subset[lay.eye_inner[1]]) == (133, 362)
    assert {468, 473} <= set(lay.subset)  # iris centres: needs the 478-point refined mesh
    pts = np.arange(478 * 2, dtype=float).reshape(1, 478, 2)
    assert lay.select(pts).shape == (1, 109, 2)
    assert (lay.select(pts)[0, lay.nose] == pts[0, 4]).all()


def test_unknown_point_count_names_the_known_layouts():
    with pytest.raises(UsageError, match="no landmark layout has 51 points; known: 468/478"):
        layout_for(51)
