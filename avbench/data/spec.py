"""``--data NAME:PATH``: which dataset plugin reads which folder."""

from __future__ import annotations

from pathlib import Path

from avbench.data.index import DatasetIndex, IndexOptions
from avbench.errors import NotAvailableError, UsageError
from avbench.registry import Registry


def parse_data_spec(spec: str) -> tuple[str, Path]:
    name, sep, path = spec.partition(":")
    if not sep or not name or not path:
        raise UsageError(f"--data {spec!r} must look like NAME:PATH, e.g. nvfair:/data/NVFAIR-v2-release")
    return name.strip(), Path(path).expanduser()


def open_dataset(registry: Registry, spec: str | None,
                 options: IndexOptions = IndexOptions()) -> DatasetIndex:
    """Index the dataset a spec names (the embedded default when ``spec`` is None)."""
    if spec is None:
        raise NotAvailableError(
            "no --data given, and the embedded synthetic default dataset is not part of this "
            "build yet (issue #3). Pass --data nvfair:PATH or --data avaprintdb:PATH."
        )
    name, path = parse_data_spec(spec)
    dataset = registry.datasets.get(name)
    build_index = dataset.load()
    return build_index(path, options)
