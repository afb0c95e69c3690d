"""``overall``: one model trained on every generator, tested on the pooled test set.

Parameters (:mod:`avbench_protocols.common`): ``originals`` ``"drop"`` (default) or
``"keep"`` -- registered as ``overall_originals``, the reference evaluation of the F5C
paper's Table III "Overall", with real videos as self videos in training, validation and
test -- and ``shortcut_check``, which adds the group ``all_distinct_driving``.
"""

from avbench.specs import Cell

from .common import keeps_originals, pooled_groups


def cells(generators: tuple[str, ...], originals: str = "drop", shortcut_check: bool = False) -> list[Cell]:
    keep = keeps_originals(originals)
    return [Cell(name="all", train_generators=generators, originals=keep,
                 evals=pooled_groups(generators, keep, shortcut_check))]
