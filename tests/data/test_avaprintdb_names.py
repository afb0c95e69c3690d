"""Property-based tests of AVAPrintDB's file-name rule
``videos/{DEV,TEST}/<target>--<driver>--<uuid>--<GEN>.mp4``: every valid name parses back
to what built it; any other path is one skip with a known reason, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from avbench.data.avaprintdb import GENERATORS, ORIGINAL_TAG, _parse, identity_source
from avbench.data.index import SkipLog, SkipReason

crema = st.integers(1001, 1091).map(lambda n: f"C{n}")
ravdess = st.integers(1, 24).map(lambda n: f"Actor_{n:02d}")
identity = st.one_of(crema, ravdess)
uuid = st.text(st.characters(blacklist_characters="/-\x00", blacklist_categories=("Cs",)),
               min_size=1, max_size=16).filter(lambda s: "." not in s)
folder = st.sampled_from(["DEV", "TEST"])


@settings(max_examples=300, deadline=None)
@given(target=identity, driver=identity, uid=uuid, gen=st.sampled_from(GENERATORS), split=folder)
def test_generated_names_parse_back_exactly(target, driver, uid, gen, split):
    rel = f"videos/{split}/{target}--{driver}--{uid}--{gen}.mp4"
    log = SkipLog()
    row = _parse(rel, log)
    assert log.rows == []
    assert (row["target"], row["driver"], row["driving_video"], row["generator"]) == (target, driver, uid, gen)
    assert row["folder"] == split and row["source"] == identity_source(target)
    assert row["kind"] == ("self" if target == driver else "cross") and not row["is_original"]


@settings(max_examples=200, deadline=None)
@given(target=identity, driver=identity, uid=uuid, split=folder)
def test_originals_name_one_identity(target, driver, uid, split):
    log = SkipLog()
    row = _parse(f"videos/{split}/{target}--{driver}--{uid}--{ORIGINAL_TAG}.mp4", log)
    if target == driver:
        assert row["kind"] == "original" and row["is_original"] and log.rows == []
    else:
        assert row is None and [r["reason"] for r in log.rows] == [SkipReason.UNPARSABLE_NAME.value]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                        max_size=30), min_size=1, max_size=4).map("/".join))
def test_any_path_is_one_row_or_one_skip_with_a_known_reason(rel):
    log = SkipLog()
    row = _parse(rel, log)
    known = {r.value for r in SkipReason}
    assert (row is None) == (len(log.rows) == 1)
    assert all(r["reason"] in known and r["path"] == rel for r in log.rows)
    if row is not None:
        assert row["path"] == rel and row["generator"] in (*GENERATORS, "original")
