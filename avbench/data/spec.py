"""``--data NAME:PATH``: which dataset plugin reads which folder."""

from __future__ import annotations

from pathlib import Path

from avbench.data.index import DatasetIndex, IndexOptions
from avbench.errors import UsageError
from avbench.registry import Registry

DEFAULT_DATASET = "synthetic"  # avbench makes it itself (avbench.synth)


def parse_data_spec(spec: str) -> tuple[str, Path | None]:
    """``NAME:PATH``, or a bare ``NAME`` for datasets with a default location (``synthetic``)."""
    name, sep, path = spec.partition(":")
    if not name or (sep and not path):
        raise UsageError(f"--data {spec!r} must look like NAME:PATH, e.g. nvfair:/data/NVFAIR-v2-release")
    return name.strip(), (Path(path).expanduser() if sep else None)


def open_dataset(registry: Registry, spec: str | None,
                 options: IndexOptions = IndexOptions()) -> DatasetIndex:
    """Index the dataset a spec names (the embedded default when ``spec`` is None)."""
    name, path = parse_data_spec(spec or DEFAULT_DATASET)
    dataset = registry.datasets.get(name)
    build_index = dataset.load()
    return build_index(path, options)
