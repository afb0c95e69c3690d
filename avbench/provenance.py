"""Where a result came from: the avbench source revision and the software environment.

Recorded with every stored result (lm-evaluation-harness records the git hash and
library versions with every results file), so that a leaderboard can tell which
numbers are comparable.  Nothing here imports torch: its version is read from the
installed package metadata, and CUDA details are added only when the run already
imported torch.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import avbench

UNKNOWN = "unknown"
PACKAGES = ("avbench", "numpy", "pandas", "pyarrow", "scikit-learn", "torch", "pluggy")


def _git(cwd: Path, *args: str) -> str | None:
    try:
        p = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True,
                           timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def git_commit(source: str | Path | None = None) -> str:
    """``git rev-parse HEAD`` of the avbench source tree, ``-dirty`` appended when it has
    uncommitted changes to tracked files, or ``"unknown"``.

    ``source`` defaults to the folder of the imported ``avbench`` package.  It must
    be *tracked* by the enclosing repository: an installed copy inside some other
    checkout (a virtual environment in a project folder) is ``"unknown"``, not that
    project's commit.  Untracked files do not make the tree dirty (a results folder
    in the checkout would otherwise mark every run).

    An install without its checkout (a wheel in a container, a copy on a cluster
    node) has no git metadata; there ``$AVBENCH_GIT_COMMIT``, set by whoever built
    the install from a known commit, is recorded instead of ``"unknown"``.
    """
    fallback = os.environ.get("AVBENCH_GIT_COMMIT", "").strip() or UNKNOWN
    folder = Path(source) if source is not None else Path(avbench.__file__).resolve().parent
    if _git(folder, "ls-files", "--error-unmatch", "--", ".") is None:
        return fallback
    head = _git(folder, "rev-parse", "HEAD")
    if not head:
        return fallback
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    if status is None:
        return fallback
    return f"{head}-dirty" if status else head


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed versions (from package metadata, without importing); None if not installed."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    if out.get("avbench") is None:
        out["avbench"] = avbench.__version__
    return out


def environment(device: str | None = None) -> dict:
    """The software and hardware a result was computed with, as a JSON-ready dict.

    Keys: ``python``, ``implementation``, ``platform``, ``machine``, ``torch`` (the
    installed version or None), ``packages`` (see :func:`package_versions`),
    ``device`` (as given); when torch is already imported: ``torch_cuda`` and
    ``torch_cudnn``, and ``device_name`` for a CUDA device.
    """
    packages = package_versions()
    env: dict = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "torch": packages.get("torch"),
        "packages": packages,
        "device": device,
    }
    torch = sys.modules.get("torch")  # never imported here: `avbench list` must stay fast
    if torch is not None:
        env["torch"] = getattr(torch, "__version__", env["torch"])
        try:
            # CPU results are bit-identical only at the same thread count (float sums
            # split differently), so it is part of what reproduces a row.
            env["torch_threads"] = torch.get_num_threads()
            env["torch_cuda"] = torch.version.cuda
            env["torch_cudnn"] = (torch.backends.cudnn.version()
                                  if torch.backends.cudnn.is_available() else None)
            if device and device.startswith("cuda") and torch.cuda.is_available():
                env["device_name"] = torch.cuda.get_device_name(torch.device(device))
        except Exception as exc:  # noqa: BLE001 - provenance must never fail a finished run
            env["torch_error"] = f"{type(exc).__name__}: {exc}"
    return env
