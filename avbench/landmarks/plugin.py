"""avbench's landmark extractors, registered through the ``avbench`` entry-point group."""

from __future__ import annotations

from avbench.hookspecs import hookimpl
from avbench.specs import LandmarkExtractorSpec

EXTRACTORS = [
    LandmarkExtractorSpec(
        name="mediapipe", factory="avbench.landmarks.mediapipe:MediaPipeFaceMesh", n_points=478,
        version="0.10.14-1",
        summary="MediaPipe face mesh 0.10.14 (offline), 478 points with iris refinement (the default)",
        citation="Kartynnik et al., Real-time Facial Surface Geometry from Monocular Video on Mobile "
                 "GPUs, CVPR Workshops 2019"),
    LandmarkExtractorSpec(
        name="face_alignment", factory="avbench.landmarks.fan:FaceAlignment2D", n_points=68, version="1",
        summary="face-alignment 2D-FAN, 68 iBUG points, GPU where present (weights downloaded once)",
        aliases=("fan",),
        citation="Bulat and Tzimiropoulos, How far are we from solving the 2D & 3D Face Alignment "
                 "problem?, ICCV 2017"),
    LandmarkExtractorSpec(
        name="dataset", factory="", n_points=0, version="1", source="dataset",
        summary="the landmarks a dataset ships beside its videos (synthetic: 68-point ground truth; "
                "AVAPrintDB: 109 MediaPipe points)"),
]


@hookimpl
def avbench_register_landmark_extractors() -> list[LandmarkExtractorSpec]:
    return list(EXTRACTORS)
