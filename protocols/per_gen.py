"""``per_gen``: the overall model, tested on each generator's videos separately.

Pooled 'all' is evaluated too, so one training gives the whole Table III row.
"""

from avbench.specs import Cell, EvalGroup


def cells(generators: tuple[str, ...]) -> list[Cell]:
    evals = (EvalGroup("all", generators), *(EvalGroup(g, (g,)) for g in generators))
    return [Cell(name="all", train_generators=generators, evals=evals)]
