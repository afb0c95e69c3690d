"""Property-based tests of NVFAIR's file-name rules: every generated name parses back to what
built it, and any other path is skipped with a reason, never crashes and never half-parses."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from avbench.data.index import SkipLog, SkipReason
from avbench.data.nvfair import GENERATOR_DIRS, _parse

# Identity and clip names: anything without the separators the layout itself uses.
name = st.text(st.characters(blacklist_characters="/-\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=12).filter(lambda s: s.strip() == s and s not in (".", ".."))
generated = st.sampled_from(["facevid2vid-generated", "tps-generated", "lia-generated"])


@settings(max_examples=300, deadline=None)
@given(target=name, driver=name, clip=name, gen_dir=generated, source=name,
       split=st.sampled_from(["train", "val", "test"]))
def test_three_part_names_parse_back_exactly(target, driver, clip, gen_dir, source, split):
    rel = f"{source}/{gen_dir}/{target}/{target}--{clip}--{driver}.mp4"
    log = SkipLog()
    row = _parse(rel, source, {target, driver}, {target: split, driver: split}, log)
    assert log.rows == []
    assert (row["target"], row["driver"], row["driving_video"]) == (target, driver, clip)
    assert row["generator"] == GENERATOR_DIRS[gen_dir] and row["split"] == split
    assert row["kind"] == ("self" if target == driver else "cross")


@settings(max_examples=300, deadline=None)
@given(target=name, driver=name, clip=name, gen_dir=generated)
def test_cross_split_pairs_are_skipped_not_indexed(target, driver, clip, gen_dir):
    if target == driver:
        return
    rel = f"s/{gen_dir}/{target}/{target}--{clip}--{driver}.mp4"
    log = SkipLog()
    assert _parse(rel, "s", {target, driver}, {target: "train", driver: "test"}, log) is None
    assert [r["reason"] for r in log.rows] == [SkipReason.CROSS_SPLIT.value]


@settings(max_examples=500, deadline=None)
@given(rel=st.text(min_size=1, max_size=60), known=st.sets(name, max_size=4))
def test_any_path_is_either_one_row_or_one_skip(rel, known):
    log = SkipLog()
    row = _parse(rel, "s", known, {k: "train" for k in known}, log)
    assert (row is None) == (len(log.rows) == 1)
    if row is None:
        assert log.rows[0]["reason"] in {r.value for r in SkipReason}
    else:
        assert row["target"] in known and row["driver"] in known and row["path"] == rel
