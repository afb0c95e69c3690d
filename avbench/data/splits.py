"""Parsers for identity-list files: headed lists, one identity per line.

NVFAIR publishes its identity split and its subject sources in this form
(``identities in train set:`` / ``The following subjects are a part of the RAVDESS
dataset:`` followed by ids).  The parser is strict about structure, because a
silently misread split file would leak test identities into training, and lenient
about noise that is known to occur (surrounding quotes, blank lines, CRLF).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from avbench.errors import DatasetError

_IDENTITY = re.compile(r"^[A-Za-z0-9_\-]+$")


def parse_headed_lists(path: Path, header_to_key: Callable[[str], str | None]) -> dict[str, list[str]]:
    """Read ``header:`` lines followed by identities into ``{key: [identity, ...]}``.

    ``header_to_key`` maps a header line (without the colon) to a key, or None if
    the header is not recognised, which is an error naming the file and line.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"cannot read identity list {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"identity list {path} is not UTF-8 text (byte {exc.start}): "
                           "is this the right file?") from exc
    lists: dict[str, list[str]] = {}
    current: str | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.endswith(":"):
            key = header_to_key(line[:-1].strip())
            if key is None:
                raise DatasetError(f"{path}:{lineno}: unrecognised header {line!r}")
            if key in lists:
                raise DatasetError(f"{path}:{lineno}: header {line!r} appears twice")
            current = key
            lists[key] = []
            continue
        identity = line.strip("'\"` ")  # e.g. NVFAIR's "1085'" line
        if current is None:
            raise DatasetError(f"{path}:{lineno}: identity {line!r} before any header line")
        if not _IDENTITY.match(identity):
            raise DatasetError(f"{path}:{lineno}: {line!r} is not an identity id")
        lists[current].append(identity)
    if not lists:
        raise DatasetError(f"{path}: no headed identity lists found (is this the right file?)")
    return lists


def invert_unique(lists: dict[str, list[str]], path: Path, what: str) -> dict[str, str]:
    """``{identity: key}``; an identity under two keys is an error naming both."""
    owner: dict[str, str] = {}
    clashes: list[str] = []
    for key, ids in lists.items():
        for identity in ids:
            if identity in owner and owner[identity] != key:
                clashes.append(f"{identity} ({owner[identity]} and {key})")
            owner.setdefault(identity, key)
    if clashes:
        raise DatasetError(
            f"{path}: {len(clashes)} identities are listed in two {what}s: "
            + ", ".join(clashes[:10]) + ". Each identity must appear in exactly one."
        )
    return owner


def nvfair_split_key(header: str) -> str | None:
    """``identities in train set`` → ``train`` (also validation → val, test)."""
    m = re.fullmatch(r"identities in (train|training|validation|val|test|testing) set", header.lower())
    if not m:
        return None
    return {"training": "train", "validation": "val", "testing": "test"}.get(m[1], m[1])


def nvfair_source_key(header: str) -> str | None:
    """``The following subjects are a part of the RAVDESS dataset`` → ``RAVDESS``."""
    m = re.fullmatch(r"the following subjects are a part of the (.+?)(?: dataset)?", header, re.I)
    return m[1].strip() if m else None


def read_nvfair_splits(path: Path) -> dict[str, str]:
    """``{identity: "train"|"val"|"test"}`` from NVFAIR's ``train_val_test_splits.txt``."""
    lists = parse_headed_lists(path, nvfair_split_key)
    missing = {"train", "val", "test"} - set(lists)
    if missing:
        raise DatasetError(f"{path}: missing split list(s): {', '.join(sorted(missing))}")
    return invert_unique(lists, path, "split")


def read_nvfair_sources(path: Path) -> dict[str, str]:
    """``{identity: source corpus}`` from NVFAIR's ``subject_sources.txt``."""
    return invert_unique(parse_headed_lists(path, nvfair_source_key), path, "source")
