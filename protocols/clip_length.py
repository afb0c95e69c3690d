"""``clip_length``: the overall model at T = 16, 32, 64 and 128 frames (Table VII).

Everything but T stays fixed, so the curve isolates temporal context.
"""

from avbench.specs import Cell, EvalGroup

CLIP_LENGTHS = (16, 32, 64, 128)


def cells(generators: tuple[str, ...]) -> list[Cell]:
    evals = (EvalGroup("all", generators), *(EvalGroup(g, (g,)) for g in generators))
    return [Cell(name=f"T{t}", train_generators=generators, evals=evals, clip_length=t)
            for t in CLIP_LENGTHS]
