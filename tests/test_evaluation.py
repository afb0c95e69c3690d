"""Which videos an evaluation uses and which pairs it scores: originals kept the reference's
way, and the shortcut check that drops positive pairs made from one driving video."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from avbench.data.index import DatasetIndex, make_videos_frame
from avbench.errors import DatasetError
from avbench.evaluation import evaluation_pairs, select_videos, shares_driving_video, verification_pairs
from avbench.specs import EvalGroup

GENS = ("facevid2vid", "tps", "lia")


def video(split, gen, target, driver, clip):
    if gen == "original":
        path, kind = f"X/originals/{target}/{clip}.mp4", "original"
    else:
        path, kind = f"X/{gen}-generated/{target}/{target}--{clip}--{driver}.mp4", (
            "self" if target == driver else "cross")
    return {"path": path, "source": "X", "generator": gen, "target": target, "driver": driver,
            "driving_video": clip, "kind": kind, "split": split, "is_original": gen == "original",
            "landmarks": ""}


def tiny_index() -> DatasetIndex:
    """Test targets A and B; A's utterance u1 drives two generators' self-reenactments."""
    rows = [
        # A: originals u1, u2; self-reenactments from u1 (facevid2vid, lia) and u2 (tps); 2 cross.
        video("test", "original", "A", "A", "u1"), video("test", "original", "A", "A", "u2"),
        video("test", "facevid2vid", "A", "A", "u1"), video("test", "tps", "A", "A", "u2"),
        video("test", "lia", "A", "A", "u1"),
        video("test", "facevid2vid", "A", "B", "c1"), video("test", "tps", "A", "C", "c2"),
        # B: original v1; self-reenactments from v1 (facevid2vid) and v2 (tps); 1 cross.
        video("test", "original", "B", "B", "v1"), video("test", "facevid2vid", "B", "B", "v1"),
        video("test", "tps", "B", "B", "v2"), video("test", "facevid2vid", "B", "A", "c3"),
        # E: a test identity with an original only (targets nothing generated): never paired.
        video("test", "original", "E", "E", "e1"),
        # D: a training identity.
        video("train", "original", "D", "D", "d1"), video("train", "tps", "D", "D", "d1"),
        video("train", "tps", "D", "F", "d2"),
    ]
    videos = make_videos_frame(rows)
    return DatasetIndex(dataset="tiny", root=Path("/nowhere"), videos=videos,
                        skipped=pd.DataFrame(columns=["path", "reason", "detail"]),
                        identities=pd.DataFrame(columns=["identity", "split", "source"]),
                        generators=GENS, fingerprint="tiny")


def counts(pairs: pd.DataFrame) -> tuple[int, int]:
    return int((pairs["label"] == 1).sum()), int((pairs["label"] == 0).sum())


def test_by_default_real_videos_are_neither_selected_nor_paired():
    index = tiny_index()
    test = select_videos(index, "test", GENS)
    assert not test["is_original"].any() and len(test) == 8
    # A: 3 self -> 3 positives, x 2 cross -> 6 negatives; B: 2 self -> 1, x 1 cross -> 2.
    assert counts(verification_pairs(test)) == (4, 8)
    assert counts(verification_pairs(index.videos[index.videos["split"] == "test"])) == (4, 8)


def test_kept_originals_are_self_videos_of_their_identity():
    index = tiny_index()
    test = select_videos(index, "test", GENS, originals=True)
    assert sorted(test.loc[test["is_original"], "path"]) == [
        "X/originals/A/u1.mp4", "X/originals/A/u2.mp4", "X/originals/B/v1.mp4"]  # not E's
    assert set(test.loc[test["is_original"], "kind"]) == {"self"}
    assert list(test.index) == sorted(test.index)
    pairs = verification_pairs(test)
    # A: 5 self -> 10 positives, x 2 cross -> 10 negatives; B: 3 self -> 3, x 1 cross -> 3.
    assert counts(pairs) == (13, 13)
    by_path = test["path"]
    named = {frozenset((by_path[a], by_path[b])): label for a, b, label in
             zip(pairs["a"], pairs["b"], pairs["label"])}
    assert named[frozenset(("X/originals/A/u1.mp4", "X/facevid2vid-generated/A/A--u1--A.mp4"))] == 1
    assert named[frozenset(("X/originals/A/u1.mp4", "X/facevid2vid-generated/A/A--c1--B.mp4"))] == 0
    train = select_videos(index, "train", ("tps",), originals=True)
    assert sorted(train["path"]) == ["X/originals/D/d1.mp4", "X/tps-generated/D/D--d1--D.mp4",
                                     "X/tps-generated/D/D--d2--F.mp4"]
    # A generator's own group: the originals join only where the protocol asks for them.
    assert not select_videos(index, "test", ("tps",))["is_original"].any()


def test_the_shortcut_check_drops_exactly_the_positives_made_from_one_driving_video():
    index = tiny_index()
    kept = select_videos(index, "test", GENS, originals=True)
    full = verification_pairs(kept)
    shared = shares_driving_video(full, kept)
    # A: {orig u1, facevid2vid u1, lia u1} -> 3 pairs, {orig u2, tps u2} -> 1; B: {orig v1, facevid2vid v1} -> 1.
    assert int(shared.sum()) == 5 and (full.loc[shared, "label"] == 1).all()
    pairs, data = evaluation_pairs(kept, EvalGroup("all_distinct_driving", GENS, originals=True,
                                                   drop_shared_driving_video=True))
    assert counts(pairs) == (8, 13)  # negatives untouched: their drivers differ
    assert data == {"test_originals": 3, "positives_dropped_shared_driving_video": 5}
    assert not shares_driving_video(pairs, kept)[pairs["label"].to_numpy() == 1].any()
    # Without originals only the two generators' self-reenactments of u1 share one.
    plain = select_videos(index, "test", GENS)
    pairs, data = evaluation_pairs(plain, EvalGroup("all", GENS, drop_shared_driving_video=True))
    assert counts(pairs) == (3, 8)
    assert data == {"test_originals": 0, "positives_dropped_shared_driving_video": 1}
    assert evaluation_pairs(plain, EvalGroup("all", GENS))[1] == {
        "test_originals": 0, "positives_dropped_shared_driving_video": 0}


def test_the_shortcut_check_refuses_a_layout_without_driving_videos():
    index = tiny_index()
    videos = select_videos(index, "test", GENS).copy()
    videos.loc[videos["kind"] == "self", "driving_video"] = ""
    assert not shares_driving_video(verification_pairs(videos), videos).any()  # "" matches nothing
    with pytest.raises(DatasetError) as caught:
        verification_pairs(videos, drop_shared_driving_video=True)
    assert str(caught.value) == (
        "the shared-driving-video check needs the driving video of every self video, but 5 have none "
        "(e.g. X/facevid2vid-generated/A/A--u1--A.mp4): this dataset's layout does not name it; "
        "evaluate this dataset with a protocol without the check")
