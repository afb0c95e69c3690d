"""Landmark point layouts: which points a graph or distance method uses, their edges, and the
anchor points that normalise position and scale.

Three layouts are known, recognised by the number of points an extractor or a dataset gives:

* ``mediapipe478`` (MediaPipe face mesh with iris refinement, 478 points; 468 without): the
  109-point subset of AVAPrintDB (Pedrouzo-Rodriguez et al. 2025) with their 306 Delaunay edges.
  Their normalisation: nose tip (mesh index 4) at the origin, coordinates divided by the distance
  between the inner eye corners (mesh indices 133 and 362).
* ``avaprintdb109``: the same 109 points as AVAPrintDB ships them (already subset).
* ``ibug68`` (face-alignment's 2D-FAN, avbench's synthetic ground truth): the 68-point iBUG
  layout; edges follow its contours (jaw, brows, nose bridge and base, eye and lip rings) plus
  links that join them into one graph; nose tip 30, inner eye corners 39 and 42.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from avbench.errors import UsageError


@dataclass(frozen=True)
class Layout:
    name: str
    n_points: int  # points an extractor delivers in this layout
    subset: tuple[int, ...] | None  # the points used, in order (None: all)
    edges: np.ndarray  # (E, 2) undirected edges between positions of the used points
    nose: int  # position (after subsetting) of the point put at the origin
    eye_inner: tuple[int, int]  # positions of the two points whose distance is the unit

    @property
    def size(self) -> int:
        """Points after subsetting."""
        return len(self.subset) if self.subset is not None else self.n_points

    def select(self, points: np.ndarray) -> np.ndarray:
        """(..., n_points, C) -> (..., size, C)."""
        return points if self.subset is None else points[..., list(self.subset), :]

    def edge_index(self) -> np.ndarray:
        """(2, 2E) int64: both directions of every edge, as graph libraries want them."""
        e = np.asarray(self.edges, np.int64)
        return np.concatenate([e, e[:, ::-1]]).T.copy()


def _resource(name: str) -> str:
    return (resources.files("avbench.data") / "resources" / name).read_text()


@cache
def _avaprint_ids() -> tuple[int, ...]:
    return tuple(int(x) for x in _resource("avaprintdb_landmark_ids_109.txt").split())


@cache
def _avaprint_edges() -> np.ndarray:
    rows = [ln.split(",") for ln in _resource("avaprintdb_delaunay_edges_109.csv").splitlines()[1:] if ln.strip()]
    return np.array([(int(i), int(j)) for i, j in rows], np.int64)


def _chain(points: range, closed: bool = False) -> list[tuple[int, int]]:
    p = list(points)
    out = list(zip(p[:-1], p[1:], strict=True))
    return out + [(p[-1], p[0])] if closed else out


@cache
def _ibug68_edges() -> np.ndarray:
    edges = (_chain(range(0, 17)) + _chain(range(17, 22)) + _chain(range(22, 27))
             + _chain(range(27, 31)) + _chain(range(31, 36)) + _chain(range(36, 42), True)
             + _chain(range(42, 48), True) + _chain(range(48, 60), True) + _chain(range(60, 68), True))
    # Links that join the parts: brows to eyes, eyes to the nose bridge, nose to the mouth,
    # mouth corners to the jaw, outer to inner lips, brows to the jaw ends.
    edges += [(19, 37), (24, 44), (21, 27), (22, 27), (39, 27), (42, 27), (30, 33), (33, 51),
              (31, 48), (35, 54), (48, 4), (54, 12), (48, 60), (54, 64), (51, 62), (57, 66),
              (17, 0), (26, 16), (36, 0), (45, 16), (8, 57)]
    return np.array(edges, np.int64)


def layout_for(n_points: int) -> Layout:
    """The layout of an extractor's or dataset's points, by their number."""
    if n_points in (468, 478):
        ids = _avaprint_ids()
        pos = {m: k for k, m in enumerate(ids)}
        return Layout("mediapipe478", n_points, ids, _avaprint_edges(), pos[4], (pos[133], pos[362]))
    if n_points == 109:
        ids = _avaprint_ids()
        pos = {m: k for k, m in enumerate(ids)}
        return Layout("avaprintdb109", 109, None, _avaprint_edges(), pos[4], (pos[133], pos[362]))
    if n_points == 68:
        return Layout("ibug68", 68, None, _ibug68_edges(), 30, (39, 42))
    raise UsageError(f"no landmark layout has {n_points} points; known: 468/478 (MediaPipe face mesh), "
                     "109 (AVAPrintDB subset), 68 (iBUG: face-alignment, synthetic ground truth)")


__all__ = ["Layout", "layout_for"]
