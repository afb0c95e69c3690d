"""``cross_gen``: train on one generator, test on each generator (rows = training).

The diagonal is in-domain performance; off-diagonal cells measure transfer to a
generator never seen in training (F5C paper, Sec. IV-B).  Real videos take no part:
the reference evaluation filters training and test sets by generator, which leaves
them out.  Its published matrices (F5C Tables IV-V, NVFAIR's generator figure)
report the AUC pooled over all pairs of a test generator; every row here stores that
pooled AUC beside the mean per-target AUC, and the board compares like with like.
"""

from avbench.specs import Cell, EvalGroup


def cells(generators: tuple[str, ...]) -> list[Cell]:
    return [Cell(name=f"train_{g}", train_generators=(g,),
                 evals=tuple(EvalGroup(t, (t,)) for t in generators))
            for g in generators]
