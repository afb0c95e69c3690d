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


def test_originals_variants_evaluate_the_reference_way_with_the_shortcut_check():
    (cell,) = REGISTRY.protocols.get("overall_originals").cells(NVFAIR_GENS)
    assert cell.originals and cell.train_generators == NVFAIR_GENS
    assert [(e.name, e.generators, e.originals, e.drop_shared_driving_video) for e in cell.evals] == [
        ("all", NVFAIR_GENS, True, False), ("all_distinct_driving", NVFAIR_GENS, True, True)]
    (cell,) = REGISTRY.protocols.get("per_gen_originals").cells(NVFAIR_GENS)
    # The reference filters the per-generator test sets by generator, which leaves originals out.
    assert [(e.name, e.originals, e.drop_shared_driving_video) for e in cell.evals] == [
        ("all", True, False), ("facevid2vid", False, False), ("tps", False, False), ("lia", False, False),
        ("all_distinct_driving", True, True)]
    cells = REGISTRY.protocols.get("clip_length_originals").cells(NVFAIR_GENS)
    assert [(c.name, c.clip_length, c.originals, len(c.evals)) for c in cells] == [
        ("T16", 16, True, 5), ("T32", 32, True, 5), ("T64", 64, True, 5), ("T128", 128, True, 5)]
    # The base protocols keep avbench's default: no originals, no extra group.
    for name in ("overall", "per_gen", "clip_length", "cross_gen"):
        for c in REGISTRY.protocols.get(name).cells(NVFAIR_GENS):
            assert not c.originals and not any(e.originals or e.drop_shared_driving_video for e in c.evals)
    assert dict(REGISTRY.protocols.get("overall_originals").params) == {"originals": "keep",
                                                                          "shortcut_check": True}


def test_protocol_params_are_checked():
    from avbench.errors import PluginError
    from avbench.specs import ProtocolSpec

    bad_value = ProtocolSpec(name="overall_x", summary="", factory="avbench_protocols.overall:cells",
                             params=(("originals", "maybe"),))
    with pytest.raises(PluginError, match=r"^protocol parameter originals='maybe': choose one of drop, keep "
                                          r"\(in the protocol spec's params\)$"):
        bad_value.cells(NVFAIR_GENS)
    bad_name = ProtocolSpec(name="cross_x", summary="", factory="avbench_protocols.cross_gen:cells",
                            params=(("originals", "keep"),), plugin="mine")
    with pytest.raises(PluginError, match=r"^protocol 'cross_x' \(plugin 'mine'\): its factory "
                                          r"'avbench_protocols.cross_gen:cells' does not accept params "
                                          r"\{'originals': 'keep'\} \(got an unexpected keyword argument "
                                          r"'originals'\); fix the spec's params or the factory's signature$"):
        bad_name.cells(NVFAIR_GENS)


@pytest.mark.parametrize("name", REGISTRY.protocols.names())
def test_every_protocol_cites_a_registered_paper(name):
    from avbench import citations

    assert citations.is_key(REGISTRY.protocols.get(name).citation)
