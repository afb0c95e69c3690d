"""``robustness``: the ``overall`` model tested on perturbed copies of the test videos.

One cell, trained exactly as ``overall``'s (every generator, real videos left out), so its
training key is overall's: ``avbench run --protocol robustness`` after ``overall`` trains
nothing, and ``avbench evaluate --run ID --protocol robustness`` scores any saved overall
model.  Its groups are ``clean`` (the test set as it is: overall's ``all``) and one group per
perturbation and strength of :data:`avbench.perturb.PERTURBATIONS` (H.264 re-encoding, downscaling,
frame rate, noise, temporal crops, mirroring), each paired with ``clean`` target by target: the
row's ``vs_paired`` metric is the AUC change with its paired bootstrap CI, the protocol's headline.
"""

from avbench.perturb import PERTURBATIONS
from avbench.specs import Cell, EvalGroup

CLEAN = "clean"


def cells(generators: tuple[str, ...]) -> list[Cell]:
    groups = [EvalGroup(p.name, generators, perturbation=p.name,
                        paired_with="" if p.name == CLEAN else CLEAN) for p in PERTURBATIONS]
    return [Cell(name="all", train_generators=generators, evals=tuple(groups))]
