"""What the protocols that train on every generator share: their pooled evaluation groups.

Two parameters (a registered spec's ``params``; see :class:`avbench.specs.ProtocolSpec`):

* ``originals``: ``"drop"`` (avbench's default: real videos are neither trained nor
  tested on) or ``"keep"`` (the reference evaluation's way, after the F5C paper's public
  code: the originals of the split are self videos of their identity in training,
  validation and the pooled ``all`` group; the per-generator groups stay without them,
  as the reference's generator filter leaves them out there).
* ``shortcut_check``: also evaluate ``all_distinct_driving``, the ``all`` group without
  the positive pairs whose two videos were made from one driving video
  (:mod:`avbench.evaluation`).  Its gap to ``all`` is what such pairs add to the AUC.
"""

from __future__ import annotations

from avbench.errors import PluginError
from avbench.specs import EvalGroup

ORIGINALS = ("drop", "keep")
DISTINCT_DRIVING = "all_distinct_driving"


def keeps_originals(originals: str) -> bool:
    """``originals`` checked: True for ``"keep"``."""
    if originals not in ORIGINALS:
        raise PluginError(f"protocol parameter originals={originals!r}: choose one of "
                          f"{', '.join(ORIGINALS)} (in the protocol spec's params)")
    return originals == "keep"


def pooled_groups(generators: tuple[str, ...], originals: bool, shortcut_check: bool
                  ) -> tuple[EvalGroup, ...]:
    """``all`` (every generator's test videos, and the originals if kept) and, with the
    shortcut check, ``all_distinct_driving``."""
    groups = [EvalGroup("all", generators, originals=originals)]
    if shortcut_check:
        groups.append(EvalGroup(DISTINCT_DRIVING, generators, originals=originals,
                                drop_shared_driving_video=True))
    return tuple(groups)
