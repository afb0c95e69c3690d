"""avbench's built-in fingerprinting methods.

Registered through the ``avbench`` entry-point group like any third-party plugin.
One method per module; this module only lists them (lazily: ``factory`` names the
class, so torch is imported only for the method a run selects).

The F5C and ResNet18 families (issue #4) are here; the landmark baselines arrive
with #5.
"""

from avbench.hookspecs import hookimpl
from avbench.specs import InputKind, MethodSpec

F5C_CITATION = ("M. Chapariniya, J.-M. Odobez, V. Dellwo, T. Vukovic: Micro-Expression-Aware "
                "Avatar Fingerprinting via Inter-Frame Feature Differencing. "
                "arXiv:2604.23247, 2026")

BUILTIN_METHODS: list[MethodSpec] = [
    # F5C family: the paper's model and its representation ablation (Table VI, overall AUC).
    MethodSpec(name="f5c_featdiff", factory="avbench_methods.f5c:F5CFeatDiff",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C + inter-frame feature differencing, the proposed model "
                       "(Table VI: 0.877 AUC)"),
    MethodSpec(name="f5c_pixeldiff", factory="avbench_methods.f5c:F5CPixelDiff",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C on pixel differences I_{t+1} - I_t (Table VI: 0.861 AUC)"),
    MethodSpec(name="f5c_rawfeat", factory="avbench_methods.f5c:F5CRawFeat",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C per-frame features, no differencing (Table VI: 0.649 AUC)"),
    MethodSpec(name="f5c_static", factory="avbench_methods.f5c:F5CStatic",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C on the centre frame only (Table VI: 0.610 AUC)"),
    # ResNet18 family: the backbone ablation, same head and conditions (Table VIII, overall AUC).
    MethodSpec(name="resnet18_featdiff", factory="avbench_methods.resnet18:ResNet18FeatDiff",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="ResNet-18 + inter-frame feature differencing (Table VIII: 0.547 AUC)"),
    MethodSpec(name="resnet18_pixeldiff", factory="avbench_methods.resnet18:ResNet18PixelDiff",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="ResNet-18 on pixel differences (Table VIII: 0.759 AUC)"),
    MethodSpec(name="resnet18_rawfeat", factory="avbench_methods.resnet18:ResNet18RawFeat",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="ResNet-18 per-frame features, no differencing (Table VIII: 0.581 AUC)"),
    MethodSpec(name="resnet18_static", factory="avbench_methods.resnet18:ResNet18Static",
               input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="ResNet-18 on the centre frame only (Table VIII: 0.581 AUC)"),
]


@hookimpl
def avbench_register_methods() -> list[MethodSpec]:
    return list(BUILTIN_METHODS)
