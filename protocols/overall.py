"""``overall``: one model trained on every generator, tested on the pooled test set."""

from avbench.specs import Cell, EvalGroup


def cells(generators: tuple[str, ...]) -> list[Cell]:
    return [Cell(name="all", train_generators=generators,
                 evals=(EvalGroup("all", generators),))]
