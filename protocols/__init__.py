"""avbench's built-in evaluation protocols (NVFAIR-style data).

Registered through the ``avbench`` entry-point group like any third-party plugin.
Each protocol is metadata plus a pure planning function in its own module;
``version`` changes whenever a protocol changes what it measures.
"""

from avbench.hookspecs import hookimpl
from avbench.specs import ProtocolSpec

_F5C = ("Chapariniya, Odobez, Dellwo, Vukovic. Micro-expression-aware avatar fingerprinting "
        "via inter-frame feature differencing. arXiv 2604.23247, 2026.")
_NVFAIR = ("Prashnani, Nagano, De Mello, Luebke, Gallo. Avatar fingerprinting for authorized "
           "use of synthetic talking-head videos. ECCV 2024.")


@hookimpl
def avbench_register_protocols() -> list[ProtocolSpec]:
    return [
        ProtocolSpec(name="overall", version="1", factory="avbench_protocols.overall:cells",
                     summary="train on all generators, test on all (F5C Table III 'Overall')",
                     citation=_NVFAIR),
        ProtocolSpec(name="per_gen", version="1", factory="avbench_protocols.per_gen:cells",
                     summary="one model on all generators, tested per generator (Table III columns)",
                     citation=_F5C),
        ProtocolSpec(name="cross_gen", version="1", factory="avbench_protocols.cross_gen:cells",
                     summary="one model per training generator, tested on each generator (3x3, Tables IV-V)",
                     citation=_F5C),
        ProtocolSpec(name="clip_length", version="1", factory="avbench_protocols.clip_length:cells",
                     summary="clip length T = 16/32/64/128, all generators (Table VII)",
                     citation=_F5C),
    ]
