"""A small results store with real score files, written without training anything."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
import pytest

from avbench.metrics import summarize
from avbench.results import ResultRow, ResultsStore
from avbench.scores import write_scores

GENERATORS = ("facevid2vid", "tps", "lia")
TARGETS = tuple(f"t{i}" for i in range(8))


def score_table(shift: float, seed: int) -> pd.DataFrame:
    """4 positive and 8 negative pairs per target; positives shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in TARGETS:
        for k in range(12):
            label = int(k < 4)
            rows.append({"a_path": f"{t}/a{k}.mp4", "b_path": f"{t}/b{k}.mp4", "target": t,
                         "a_driver": t, "b_driver": t if label else f"d{k}", "a_generator": "tps",
                         "b_generator": "tps", "label": label,
                         "score": float(rng.normal() + shift * label)})
    return pd.DataFrame(rows)


def add_result(store: ResultsStore, method: str, protocol: str, cell: str, test_group: str,
               shift: float, seed: int = 0, dataset: str = "synthetic", profile: str = "standard",
               clip_length: int = 16, fingerprint: str = "fp-synth-1", config: dict | None = None) -> ResultRow:
    data_seed = zlib.crc32(f"{method}|{protocol}|{cell}|{test_group}|{seed}|{profile}".encode())
    scores = score_table(shift, data_seed)
    path = store.path.parent / "runs" / dataset / method / protocol / f"{cell}-{profile}-{seed}" / f"scores-{test_group}.parquet"
    write_scores(path, scores)
    metrics = summarize(scores, n_boot=200, seed=seed)
    train = GENERATORS if not cell.startswith("train_") else (cell.removeprefix("train_"),)
    test = GENERATORS if test_group == "all" else (test_group,)
    return store.add(ResultRow(
        method=method, protocol=protocol, protocol_version="1", cell=cell, test_group=test_group,
        dataset=dataset, dataset_fingerprint=fingerprint, seed=seed, metrics=metrics,
        main_score=metrics["mean_target_auc"], train_generators=train, test_generators=test,
        clip_length=clip_length, profile=profile,
        config=config or {"method": {"name": method}, "training": {"clip_length": clip_length, "steps": 10},
                          "profile": profile},
        git_commit="0123456789abcdef0123456789abcdef01234567", device="cpu",
        score_file=store.relative(path), checkpoint=""))


def fill_store(store: ResultsStore) -> None:
    for seed in (0, 1, 2):
        add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5, seed=seed)
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)
    add_result(store, "stgcn", "overall", "all", "all", 1.0)
    for method, shift in (("f5c_featdiff", 1.5), ("f5c_static", 0.2)):
        for group in ("all", *GENERATORS):
            add_result(store, method, "per_gen", "all", group, shift)
        for train in GENERATORS:
            for test in GENERATORS:
                add_result(store, method, "cross_gen", f"train_{train}", test,
                           shift * (1.0 if train == test else 0.6))
    for t in (16, 32, 64, 128):
        for group in ("all", "tps"):
            add_result(store, "f5c_featdiff", "clip_length", f"T{t}", group, 0.5 + t / 64, clip_length=t)
    # The protocol that evaluates as the paper's Table III did (real videos kept as self videos).
    add_result(store, "f5c_featdiff", "overall_originals", "all", "all", 1.2, dataset="nvfair",
               fingerprint="fp-nvfair-1", clip_length=64, profile="paper")


@pytest.fixture(scope="session")
def board_store(tmp_path_factory) -> ResultsStore:
    """The filled store (shared by the session's tests: treat it as read-only)."""
    store = ResultsStore(tmp_path_factory.mktemp("board") / "results" / "results.sqlite")
    fill_store(store)
    return store


@pytest.fixture(scope="session")
def published(board_store, tmp_path_factory):
    """The boards published from ``board_store`` (read-only)."""
    from avbench.leaderboard.publish import publish

    out = tmp_path_factory.mktemp("published")
    publish(board_store, out)
    return out


_LINKED_NAME = __import__("re").compile(r"\[([^\]]*)\]\((?:https://arxiv\.org/abs/[0-9.]+)\)")
_CODE_LINK = __import__("re").compile(r" \(\[code\]\(\.\./\.\./methods/[a-z0-9_]+\.py\)\)")


def unlinked(markdown: str) -> str:
    """A board's Markdown with the method names' paper and code links taken out (tests that
    are about other columns read the table as text)."""
    return _CODE_LINK.sub("", _LINKED_NAME.sub(r"\1", markdown))
