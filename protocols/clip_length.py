"""``clip_length``: the overall model at T = 16, 32, 64 and 128 frames (Table VII).

Everything but T stays fixed, so the curve isolates temporal context.  Parameters as
for ``overall`` (:mod:`avbench_protocols.common`); ``clip_length_originals`` keeps the
real videos, as the reference evaluation of Table VII does.
"""

from avbench.specs import Cell, EvalGroup

from .common import keeps_originals, pooled_groups

CLIP_LENGTHS = (16, 32, 64, 128)


def cells(generators: tuple[str, ...], originals: str = "drop", shortcut_check: bool = False) -> list[Cell]:
    keep = keeps_originals(originals)
    pooled = pooled_groups(generators, keep, shortcut_check)
    evals = (pooled[0], *(EvalGroup(g, (g,)) for g in generators), *pooled[1:])
    return [Cell(name=f"T{t}", train_generators=generators, evals=evals, clip_length=t, originals=keep)
            for t in CLIP_LENGTHS]
