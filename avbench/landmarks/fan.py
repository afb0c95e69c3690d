"""face-alignment's 2D-FAN (Bulat and Tzimiropoulos, ICCV 2017): 68 iBUG points, on GPU if present.

The package downloads its network weights on first use.  Where they are missing and cannot
be fetched (an offline machine), construction fails with the exact files to place and where,
instead of a stack trace from deep inside a download.
"""

from __future__ import annotations

import inspect
import os
import urllib.request
from pathlib import Path

import numpy as np

from avbench.errors import NotAvailableError

N_POINTS = 68

# The files face-alignment 1.4/1.5 loads for 2D landmarks with its default (SFD) face detector.
WEIGHTS = {
    "2DFAN4-11f355bf06.pth.tar": "https://www.adrianbulat.com/downloads/python-fan/2DFAN4-11f355bf06.pth.tar",
    "s3fd-619a316812.pth": "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
}
FETCH_TIMEOUT_S = 20


def weights_dir() -> Path:
    """Where torch (and so face-alignment) looks for downloaded weights: ``$TORCH_HOME/hub/checkpoints``."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def ensure_weights(folder: Path | None = None) -> Path:
    """Fetch missing weight files into ``folder``; fail naming every file that is still missing."""
    folder = folder or weights_dir()
    missing = [name for name in WEIGHTS if not (folder / name).is_file()]
    errors = []
    for name in missing:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.part"
            with urllib.request.urlopen(WEIGHTS[name], timeout=FETCH_TIMEOUT_S) as r, open(tmp, "wb") as f:
                while chunk := r.read(1 << 20):
                    f.write(chunk)
            os.replace(tmp, folder / name)
        except OSError as exc:  # URLError, timeouts, refused connections, read-only folders
            errors.append((name, exc))
    if errors:
        lines = "\n".join(f"  {folder / name}   <- {WEIGHTS[name]}" for name, _ in errors)
        raise NotAvailableError(
            f"the face_alignment landmark extractor needs face-alignment's network weights, which are "
            f"missing and could not be downloaded ({type(errors[0][1]).__name__}: {errors[0][1]}).\n"
            f"Place these files (download them on a machine with internet access):\n{lines}\n"
            f"(the folder is $TORCH_HOME/hub/checkpoints; set TORCH_HOME to use another one), "
            f"or use --extractor mediapipe, which works offline.")
    return folder


class FaceAlignment2D:
    def __init__(self, device: str | None = None):
        try:
            import face_alignment
        except ImportError as exc:
            raise NotAvailableError("the face_alignment landmark extractor needs the face-alignment "
                                    "package: pip install 'avbench[face-alignment]'") from exc
        import torch

        ensure_weights()
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        kwargs = {"device": device, "face_detector": "sfd"}
        if "compile" in inspect.signature(face_alignment.FaceAlignment).parameters:
            kwargs["compile"] = False  # a one-off compile per worker costs more than it saves here
        self.fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, **kwargs)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W) uint8 grayscale -> (N, 68, 2) float32 pixels, NaN rows where no face was found."""
        out = np.full((len(frames), N_POINTS, 2), np.nan, np.float32)
        for t, frame in enumerate(frames):
            rgb = np.repeat(frame[..., None], 3, axis=-1) if frame.ndim == 2 else frame
            found = self.fa.get_landmarks_from_image(rgb)
            if found:
                out[t] = np.asarray(found[0], np.float32)[:, :2]
        return out
