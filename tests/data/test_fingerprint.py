"""The dataset fingerprint stored with every result names the data, not the copy of it."""

from __future__ import annotations

import shutil

from avbench.data.spec import open_dataset
from avbench.registry import load_registry


def _fingerprint(root) -> str:
    return open_dataset(load_registry(), f"synthetic:{root}").fingerprint


def test_same_data_elsewhere_same_fingerprint_changed_data_another(tiny_synthetic, tmp_path):
    original = _fingerprint(tiny_synthetic)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_synthetic, copy, copy_function=shutil.copyfile)  # new paths, new times
    assert _fingerprint(copy) == original
    (copy / "CREMA-D" / "notes.txt").write_text("a stray file changes no result")
    assert _fingerprint(copy) == original

    video = sorted(copy.rglob("*-generated/*/*.mp4"))[0]
    tmp = video.with_suffix(".part")
    tmp.write_bytes(video.read_bytes() + b"\0")  # re-encoded (another size), saved as tools do:
    tmp.replace(video)  # a new file renamed into place, which the folder's time records
    changed = _fingerprint(copy)
    assert changed != original
    video.unlink()
    assert _fingerprint(copy) not in (original, changed)  # a video fewer


def test_split_lists_are_part_of_it(tiny_synthetic, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_synthetic, copy)
    splits = copy / "train_val_test_splits.txt"
    splits.write_text(splits.read_text() + "\n")
    assert _fingerprint(copy) != _fingerprint(tiny_synthetic)
