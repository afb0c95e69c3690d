"""On-disk cache of decoded frames, so each video is decoded once across epochs and runs.

Decoding H.264 dominates data loading; the decoded ``(N, size, size)`` uint8 stack
is stored as a ``.npy`` and served as a read-only memmap, so clip sampling reads
only the rows it needs and worker processes share pages through the OS cache.

Entries live at ``root/frames/v{POLICY_VERSION}/<key[:2]>/<key>.npy``.  The key
hashes the resolved path, file size, mtime (ns), the decode-policy version and
the output size: a re-encoded or touched video, or a change of decode policy,
gets a fresh entry instead of stale frames.  Old entries are never reused and
can be deleted freely (by version folder, e.g. ``frames/v0``).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path

import numpy as np
from filelock import FileLock

from avbench.data.video import DEFAULT_SIZE, POLICY_VERSION, VideoDecodeError, decode_gray
from avbench.paths import default_cache_dir

__all__ = ["FrameCache"]


class FrameCache:
    """Decoded-frame cache under ``root``; ``hits``/``misses`` count this instance's lookups.

    A *miss* is a lookup this instance had to decode; a lookup served from disk
    (including one another process decoded while this one waited) is a *hit*.
    """

    def __init__(self, root: Path | str | None = None, size: int = DEFAULT_SIZE) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.root = Path(root) if root is not None else default_cache_dir()
        self.size = size
        self.hits = 0
        self.misses = 0

    def key(self, video_path: Path | str) -> str:
        """The cache key of ``video_path`` as it is on disk right now."""
        resolved = Path(video_path).resolve()
        try:
            st = resolved.stat()
        except OSError as exc:
            raise VideoDecodeError(f"{video_path}: file not found") from exc
        material = json.dumps(
            [str(resolved), st.st_size, st.st_mtime_ns, POLICY_VERSION, self.size]
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def entry_path(self, video_path: Path | str) -> Path:
        """Where the decoded frames of ``video_path`` are (or would be) stored."""
        key = self.key(video_path)
        return self.root / "frames" / f"v{POLICY_VERSION}" / key[:2] / f"{key}.npy"

    def frames(self, video_path: Path | str) -> np.ndarray:
        """Read-only memmap ``(N, size, size)`` uint8 of the video, decoding it on a miss."""
        target = self.entry_path(video_path)
        cached = self._load(target)
        if cached is not None:
            self.hits += 1
            return cached

        target.parent.mkdir(parents=True, exist_ok=True)
        # Integrity rests on the atomic os.replace in _write: readers see either no
        # file or a complete one, even if a writer dies mid-way.  The per-key lock only
        # stops concurrent processes from decoding the same video twice.  The lock file
        # is removed once the entry exists (later lookups take the lock-free path
        # above), so the cache holds one file per video; in the rare race this opens
        # (a waiter re-creating the lock after a failed decode), the worst case is a
        # duplicate decode, never a partial file.
        lock_path = target.with_name(target.name + ".lock")
        with FileLock(lock_path):
            try:
                cached = self._load(target)
                if cached is not None:
                    self.hits += 1
                    return cached
                self._write(target, decode_gray(video_path, size=self.size))
                self.misses += 1
            finally:
                lock_path.unlink(missing_ok=True)
        loaded = self._load(target)
        if loaded is None:
            raise OSError(f"{target}: frame cache entry unreadable right after writing it")
        return loaded

    def _load(self, target: Path) -> np.ndarray | None:
        """The cached memmap, or None if absent or unusable (an unusable entry is rebuilt)."""
        try:
            arr = np.load(target, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):  # unreadable/corrupt: never trusted, re-decoded
            return None
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[1:] != (self.size, self.size):
            return None
        return arr

    @staticmethod
    def _write(target: Path, frames: np.ndarray) -> None:
        # The temp file sits in the target's folder so os.replace stays a same-filesystem
        # atomic rename.  os.open (not mkstemp) so the umask, not 0600, sets permissions:
        # a cache shared by a team must be readable by all of it.
        tmp = target.with_name(f".{target.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, np.ascontiguousarray(frames, dtype=np.uint8), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())  # data on disk before the rename makes it visible
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
