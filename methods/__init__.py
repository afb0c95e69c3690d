"""avbench's built-in fingerprinting methods.

Registered through the ``avbench`` entry-point group like any third-party plugin.
One method per module; this module only lists them (lazily: ``factory`` names the
class, so torch is imported only for the method a run selects).

Raw-frame methods (F5C and ResNet18 families) and the landmark baselines (NVFAIR's
landmark-distance temporal CNN, ST-GCN) are here.
"""

from avbench.hookspecs import hookimpl
from avbench.specs import InputKind, MethodSpec

# Keys of avbench.citations (BibTeX in avbench/citations.py).
F5C_CITATION = "f5c2026"
NVFAIR_CITATION = "nvfair2024"
AVAPRINTDB_CITATION = "avaprintdb2026"
STGCN_CITATION = "stgcn2018"  # avbench's ST-GCN (Yan et al.) on AVAPrintDB's landmark graph

# Landmark models cost far less per frame than the frame models, so their CPU-sized "quick"
# schedule affords the paper's clip length T = 64 and 16 drivers per batch.
LANDMARK_QUICK = (("quick", (("clip_length", 64), ("identities_per_batch", 16), ("videos_per_identity", 4),
                             ("epochs", 10), ("steps_per_epoch", 15), ("val_every", 2))),)

# The paper's code trained the ResNet-18 ablation on batches of 8 drivers x 4 videos (F5C:
# 16 x 8); the paper schedule and the standard one (the paper's batch on one GPU) keep it.
RESNET18_BATCH = tuple((profile, (("identities_per_batch", 8), ("videos_per_identity", 4)))
                       for profile in ("paper", "standard"))

BUILTIN_METHODS: list[MethodSpec] = [
    # F5C family: the paper's model and its representation ablation (Table VI, overall AUC).
    # One class; each registered name fixes its input condition (a spec default).
    MethodSpec(name="f5c_featdiff", factory="avbench_methods.f5c:F5CMethod",
               defaults={"condition": "featdiff"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C + inter-frame feature differencing, the proposed model "
                       "(Table VI: 0.877 AUC)"),
    MethodSpec(name="f5c_pixeldiff", factory="avbench_methods.f5c:F5CMethod",
               defaults={"condition": "pixeldiff"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C on pixel differences I_{t+1} - I_t (Table VI: 0.861 AUC)"),
    MethodSpec(name="f5c_rawfeat", factory="avbench_methods.f5c:F5CMethod",
               defaults={"condition": "rawfeat"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C per-frame features, no differencing (Table VI: 0.649 AUC)"),
    MethodSpec(name="f5c_static", factory="avbench_methods.f5c:F5CMethod",
               defaults={"condition": "static"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               summary="F5C on the centre frame only (Table VI: 0.610 AUC)"),
    # ResNet18 family: the backbone ablation in the same four conditions (Table VIII, overall AUC),
    # as the paper's code built it: pooled per-frame vectors and an MLP head, 8 x 4 batches.
    MethodSpec(name="resnet18_featdiff", factory="avbench_methods.resnet18:ResNet18Method",
               defaults={"condition": "featdiff"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               profile_overrides=RESNET18_BATCH,
               summary="ResNet-18 + inter-frame feature differencing (Table VIII: 0.547 AUC)"),
    MethodSpec(name="resnet18_pixeldiff", factory="avbench_methods.resnet18:ResNet18Method",
               defaults={"condition": "pixeldiff"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               profile_overrides=RESNET18_BATCH,
               summary="ResNet-18 on pixel differences (Table VIII: 0.759 AUC)"),
    MethodSpec(name="resnet18_rawfeat", factory="avbench_methods.resnet18:ResNet18Method",
               defaults={"condition": "rawfeat"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               profile_overrides=RESNET18_BATCH,
               summary="ResNet-18 per-frame features, no differencing (Table VIII: 0.581 AUC)"),
    MethodSpec(name="resnet18_static", factory="avbench_methods.resnet18:ResNet18Method",
               defaults={"condition": "static"}, input=InputKind.FRAMES, citation=F5C_CITATION,
               profile_overrides=RESNET18_BATCH,
               summary="ResNet-18 on the centre frame only (Table VIII: 0.581 AUC)"),
    # Landmark baselines (read landmarks from an extractor plugin; default mediapipe).
    MethodSpec(name="nvfair_ldmk_tcnn", factory="avbench_methods.nvfair_ldmk_tcnn:NvfairLandmarkTCNN",
               input=InputKind.LANDMARKS, citation=NVFAIR_CITATION, profile_overrides=LANDMARK_QUICK,
               summary="NVFAIR baseline: pairwise landmark distances per frame, temporal CNN, "
                       "contrastive loss with time-shuffled negatives"),
    MethodSpec(name="stgcn", factory="avbench_methods.stgcn:STGCN", input=InputKind.LANDMARKS,
               citation=STGCN_CITATION, profile_overrides=LANDMARK_QUICK,
               summary="ST-GCN on the facial-landmark graph (AVAPrintDB 109-point Delaunay graph; "
                       "68-point iBUG graph), torch-geometric"),
    # AVAPrintDB's own graph model (stgcn above is avbench's Yan-style ST-GCN): 70-frame
    # windows in every schedule but smoke; the paper profile also takes its lr and weight decay.
    MethodSpec(name="avaprintdb_gcn", factory="avbench_methods.avaprintdb_gcn:AvaprintdbGCN",
               input=InputKind.LANDMARKS,
               citation=AVAPRINTDB_CITATION,
               profile_overrides=(("paper", (("clip_length", 70), ("lr", 0.01), ("weight_decay", 1e-5))),
                                  ("standard", (("clip_length", 70),)),
                                  ("quick", (("clip_length", 70),))),
               summary="AVAPrintDB's graph baseline: 3 GCNConv layers per frame on their 109 MediaPipe "
                       "points (xyz, 306 Delaunay edges), temporal attention pooling, triplet loss; "
                       "scores averaged over all 70-frame window pairs of whole videos"),
]


@hookimpl
def avbench_register_methods() -> list[MethodSpec]:
    return list(BUILTIN_METHODS)
