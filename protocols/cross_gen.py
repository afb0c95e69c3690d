"""``cross_gen``: train on one generator, test on each generator (rows = training).

The diagonal is in-domain performance; off-diagonal cells measure transfer to a
generator never seen in training (F5C paper, Sec. IV-B).
"""

from avbench.specs import Cell, EvalGroup


def cells(generators: tuple[str, ...]) -> list[Cell]:
    return [Cell(name=f"train_{g}", train_generators=(g,),
                 evals=tuple(EvalGroup(t, (t,)) for t in generators))
            for g in generators]
