"""avbench's built-in evaluation protocols (NVFAIR-style data).

Registered through the ``avbench`` entry-point group like any third-party plugin.
Each protocol is metadata plus a pure planning function in its own module;
``version`` changes whenever a protocol changes what it measures.  A variant is the
same function with other ``params`` under a name of its own (``overall_originals``:
``overall`` with ``originals="keep"``), so its rows and run keys never mix with the
base protocol's.  Citations are keys of :mod:`avbench.citations`.

The ``*_originals`` variants evaluate the way the reference code of the F5C paper
does (:mod:`avbench_protocols.common`): its Tables III, VI, VII and VIII come from
models trained and tested with the real videos as self videos, so only these
variants' rows are compared with those published figures.  They also run the
shortcut check ``all_distinct_driving``.
"""

from avbench.hookspecs import hookimpl
from avbench.specs import ProtocolSpec

REFERENCE = (("originals", "keep"), ("shortcut_check", True))


@hookimpl
def avbench_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(name="overall", version="1", factory="avbench_protocols.overall:cells",
                     summary="train on all generators, test on all; real videos left out",
                     citation="nvfair2024"),
        ProtocolSpec(name="overall_originals", version="1", factory="avbench_protocols.overall:cells",
                     params=REFERENCE, citation="f5c2026",
                     summary="overall with real videos as self videos in train, val and test (the "
                             "reference evaluation of F5C Table III 'Overall'), plus all_distinct_driving"),
        ProtocolSpec(name="per_gen", version="1", factory="avbench_protocols.per_gen:cells",
                     summary="one model on all generators, tested on all and per generator; real "
                             "videos left out", citation="f5c2026"),
        ProtocolSpec(name="per_gen_originals", version="1", factory="avbench_protocols.per_gen:cells",
                     params=REFERENCE, citation="f5c2026",
                     summary="per_gen with real videos as self videos in train, val and 'all' (the "
                             "reference evaluation of Tables III, VI, VIII), plus all_distinct_driving"),
        ProtocolSpec(name="cross_gen", version="1", factory="avbench_protocols.cross_gen:cells",
                     summary="one model per training generator, tested on each generator (3x3, Tables IV-V)",
                     citation="f5c2026"),
        ProtocolSpec(name="clip_length", version="1", factory="avbench_protocols.clip_length:cells",
                     summary="clip length T = 16/32/64/128, all generators; real videos left out",
                     citation="f5c2026"),
        ProtocolSpec(name="robustness", version="1", factory="avbench_protocols.robustness:cells",
                     summary="the overall model on perturbed test videos: H.264 CRF 23/28/35, downscaling "
                             "1/2 and 1/4, 15 fps, noise, T/2 and T/4 crops, mirroring; AUC change vs clean "
                             "with a paired CI", citation="nvfair2024"),
        ProtocolSpec(name="cross_dataset", version="1", factory="avbench_protocols.per_gen:cells",
                     other_dataset=True, citation="avaprintdb2026",
                     summary="a saved overall model scored on another dataset (avbench evaluate --run ID "
                             "--protocol cross_dataset --data OTHER): all of its test set and each of its "
                             "generators; real videos left out"),
        ProtocolSpec(name="clip_length_originals", version="1", factory="avbench_protocols.clip_length:cells",
                     params=REFERENCE, citation="f5c2026",
                     summary="clip_length with real videos as self videos (the reference evaluation of "
                             "Table VII), plus all_distinct_driving"),
        ProtocolSpec(name="multi_clip", version="1", factory="avbench_protocols.multi_clip:cells",
                     summary="the overall model scored from k = 1/2/4/8 clips per video, embeddings or "
                             "scores averaged; real videos left out", citation="f5c2026"),
    ]
