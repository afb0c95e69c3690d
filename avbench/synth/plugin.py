"""The ``synthetic`` dataset plugin: ``--data synthetic`` (the default) or ``synthetic:PATH``.

Without a path it is the embedded default dataset, written once into the cache
(with a progress bar) and then indexed like NVFAIR, whose layout it has.
"""

from __future__ import annotations

from pathlib import Path

from avbench.data.index import DatasetIndex, IndexOptions
from avbench.hookspecs import hookimpl
from avbench.specs import DatasetSpec


def build_index(path: Path | None, options: IndexOptions = IndexOptions(),
                cache_dir: Path | None = None) -> DatasetIndex:
    from avbench.data.nvfair import build_index as nvfair_index
    from avbench.synth.default import DEFAULT_CONFIG, dataset_dir, ensure_dataset

    if path is None:
        path = dataset_dir(DEFAULT_CONFIG, cache_dir)
        if not (path / "synth_manifest.json").exists():
            from avbench.progress import progress_bar

            with progress_bar("making the default synthetic dataset (once)") as update:
                path = ensure_dataset(DEFAULT_CONFIG, cache_dir, progress=update)
    return nvfair_index(path, options, cache_dir, name="synthetic")


@hookimpl
def avbench_register_datasets() -> list[DatasetSpec]:
    return [DatasetSpec(
        name="synthetic",
        summary="avbench's synthetic talking heads (the default): 108 identities, NVFAIR layout",
        factory="avbench.synth.plugin:build_index",
        layout="like nvfair; no PATH = the embedded default, made once into the cache",
        generators=("facevid2vid", "tps", "lia"),
        citation="avbench synthetic talking-head dataset (avbench.synth), version "
                 "in its synth_manifest.json.",
    )]
