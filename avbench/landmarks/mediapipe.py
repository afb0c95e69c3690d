"""MediaPipe face mesh (legacy ``solutions.face_mesh``): 478 points with iris refinement.

MediaPipe 0.10.14 is the last release whose wheel carries the face-mesh models, so this
works offline.  Each video is tracked with a fresh mesh in video mode (detection on the
first frame, then tracking), as the face mesh is meant to run on a sequence.  Output is in
pixels of the frames given: x, y, and z (relative depth, in the units of x).
"""

from __future__ import annotations

import numpy as np

from avbench.errors import NotAvailableError

N_POINTS = 478


class MediaPipeFaceMesh:
    def __init__(self, refine_landmarks: bool = True, min_detection_confidence: float = 0.5):
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:
            raise NotAvailableError("the mediapipe landmark extractor needs MediaPipe 0.10.14 (the last "
                                    "release that ships its face-mesh model): "
                                    "pip install 'avbench[mediapipe]'") from exc
        self._face_mesh = face_mesh
        self.refine = refine_landmarks
        self.confidence = min_detection_confidence

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(N, H, W) uint8 grayscale (or (N, H, W, 3) RGB) -> (N, 478, 3) float32, NaN rows = no face."""
        n_points = N_POINTS if self.refine else 468
        out = np.full((len(frames), n_points, 3), np.nan, np.float32)
        with self._face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                      refine_landmarks=self.refine,
                                      min_detection_confidence=self.confidence) as mesh:
            for t, frame in enumerate(frames):
                rgb = np.ascontiguousarray(np.repeat(frame[..., None], 3, axis=-1) if frame.ndim == 2 else frame)
                h, w = rgb.shape[:2]
                result = mesh.process(rgb)
                if result.multi_face_landmarks:
                    pts = result.multi_face_landmarks[0].landmark
                    out[t] = [(p.x * w, p.y * h, p.z * w) for p in pts]
        return out
