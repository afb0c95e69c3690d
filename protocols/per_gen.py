"""``per_gen``: the overall model, tested on each generator's videos separately.

Pooled 'all' is evaluated too, so one training gives the whole Table III row.
Parameters as for ``overall`` (:mod:`avbench_protocols.common`); with ``originals="keep"``
(registered as ``per_gen_originals``) the model trains with the real videos and ``all``
tests with them, while each generator's group has none: the reference evaluation of
Table III (its per-generator columns filter the test set by generator).
"""

from avbench.specs import Cell, EvalGroup

from .common import keeps_originals, pooled_groups


def cells(generators: tuple[str, ...], originals: str = "drop", shortcut_check: bool = False) -> list[Cell]:
    keep = keeps_originals(originals)
    pooled = pooled_groups(generators, keep, shortcut_check)
    evals = (pooled[0], *(EvalGroup(g, (g,)) for g in generators), *pooled[1:])
    return [Cell(name="all", train_generators=generators, evals=evals, originals=keep)]
