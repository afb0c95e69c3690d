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
    if path is None and name not in registry.datasets.names() and ("/" in name or Path(name).expanduser().exists()):
        raise UsageError(f"--data {name}: a path needs its dataset's name in front, NAME:PATH; "
                         f"did you mean {_guess(name, registry.datasets.names())}:{name}? "
                         f"(datasets: {', '.join(registry.datasets.names())})")
    dataset = registry.datasets.get(name)
    build_index = dataset.load()
    return build_index(path, options)


def _guess(path: str, names: list[str]) -> str:
    """The dataset a bare path most likely holds: a name its folder names mention (NVFAIR-v2-release
    -> nvfair), else the first registered name."""
    text = str(Path(path).expanduser()).lower().replace("-", "").replace("_", "")
    for name in sorted(names, key=len, reverse=True):
        if name.lower().replace("_", "") in text:
            return name
    return "nvfair" if "nvfair" in names else sorted(names)[0]
