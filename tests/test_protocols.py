"""Every registered protocol plans cells that the runner can execute (registry-driven)."""

from __future__ import annotations

import pytest

from avbench.registry import load_registry

REGISTRY = load_registry()
NVFAIR_GENS = ("facevid2vid", "tps", "lia")


@pytest.mark.parametrize("name", REGISTRY.protocols.names())
def test_every_protocol_has_metadata_and_valid_cells(name):
    spec = REGISTRY.protocols.get(name)
    assert spec.version and spec.main_score == "mean_target_auc" and spec.higher_is_better
    assert spec.citation
    cells = spec.cells(NVFAIR_GENS)
    assert cells and len({c.name for c in cells}) == len(cells)
    for cell in cells:
        assert set(cell.train_generators) <= set(NVFAIR_GENS)
        for ev in cell.evals:
            assert set(ev.generators) <= set(NVFAIR_GENS)


def test_cross_gen_is_the_3x3_matrix():
    cells = REGISTRY.protocols.get("cross_gen").cells(NVFAIR_GENS)
    grid = [(c.train_generators, ev.generators) for c in cells for ev in c.evals]
    assert grid == [((tr,), (te,)) for tr in NVFAIR_GENS for te in NVFAIR_GENS]


def test_overall_per_gen_and_clip_length():
    (overall,) = REGISTRY.protocols.get("overall").cells(NVFAIR_GENS)
    assert overall.train_generators == NVFAIR_GENS and [e.name for e in overall.evals] == ["all"]
    (per_gen,) = REGISTRY.protocols.get("per_gen").cells(NVFAIR_GENS)
    assert [e.name for e in per_gen.evals] == ["all", *NVFAIR_GENS]
    lengths = [c.clip_length for c in REGISTRY.protocols.get("clip_length").cells(NVFAIR_GENS)]
    assert lengths == [16, 32, 64, 128]


def test_protocols_follow_the_dataset_generators():
    cells = REGISTRY.protocols.get("cross_gen").cells(("GAGA", "LIVE", "HUNY"))
    assert [c.name for c in cells] == ["train_GAGA", "train_LIVE", "train_HUNY"]
