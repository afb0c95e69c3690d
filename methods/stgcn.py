"""avbench's own ST-GCN on the facial-landmark graph, in the style of Yan, Xiong and Lin.

This is NOT AVAPrintDB's published model: that one (per-frame GCN layers, temporal attention
pooling, no temporal convolution, triplet loss, window-averaged scores) is the method
``avaprintdb_gcn`` (``methods/avaprintdb_gcn.py``).  This method takes only AVAPrintDB's graph
(Pedrouzo-Rodriguez et al., arXiv:2603.26934) and builds on it the architecture of Yan, Xiong
and Lin, "Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action
Recognition", AAAI 2018.  Nodes are the layout's landmarks (MediaPipe: AVAPrintDB's 109-point
subset with its 306 Delaunay edges; 68-point layouts: the iBUG contour graph,
:mod:`avbench.landmarks.layouts`); node features are normalised x, y coordinates (nose tip at
the origin, unit = inner-eye-corner distance).  Each ST-GCN block is a spatial graph
convolution (torch_geometric's GCN rule, its ``gcn_norm`` normalisation, applied to every
frame's graph at once: :class:`GraphConv`) followed by a temporal convolution along each node's
track (kernel 9), BatchNorm, ReLU and a residual connection; temporal and node pooling and a
linear map give the L2-normalised embedding.  Trained with avbench's default supervised
contrastive loss.

avbench's choices (in ``Config``; no paper fixes them): block widths 32, 32, 64, 64 with
temporal stride 2 at the third block (the 109-node graph makes each temporal conv cost 109 times a
1-D one; these widths keep a CPU training step near a second); an input BatchNorm over
(node, coordinate) features as ST-GCN's data BN; mean pooling over time and nodes; a 128-d
embedding.  Two options were measured and are off by default (default synthetic dataset, 1000
GPU steps of 16 x 8 clips at T = 64, test AUC): positions 0.702; clip-mean removed 0.674;
with velocities 0.664; both 0.698.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from avbench.errors import NotAvailableError
from avbench.landmarks.layouts import layout_for
from avbench.landmarks.normalise import normalise_points
from avbench.method import LandmarkConfig, Method
from avbench.specs import InputKind


def normalised_adjacency(edge_index: Tensor, n: int) -> Tensor:
    """Dense (n, n) GCN propagation matrix D^-1/2 (A + I) D^-1/2, computed by torch_geometric's
    ``gcn_norm`` (the normalisation of its ``GCNConv``)."""
    try:
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
    except ImportError as exc:
        raise NotAvailableError("the stgcn method needs torch-geometric: pip install 'avbench[graph]'") from exc
    ei, w = gcn_norm(edge_index, None, n, add_self_loops=True)
    a = torch.zeros(n, n)
    a[ei[1], ei[0]] = w  # row i aggregates from its sources j
    return a


class GraphConv(nn.Module):
    """torch_geometric's GCNConv, applied to every frame's graph in one dense matmul.

    The landmark graph is small (68-109 nodes) and the same for all B*T frames, so the
    propagation A_hat @ (X W) is a single (n, n) x (n, B*T*C) matrix product: about 100x
    faster on a CPU than message passing over B*T graphs, with the same result
    (tests/methods/test_stgcn.py checks it against ``GCNConv`` with the same weights).
    """

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.lin = nn.Linear(cin, cout, bias=False)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        """(..., n, cin) -> (..., n, cout)."""
        return torch.matmul(adjacency, self.lin(x)) + self.bias


class STGCNBlock(nn.Module):
    """(B, C, T, P) -> (B, C', T', P): graph conv per frame, temporal conv per node, residual."""

    def __init__(self, cin: int, cout: int, kernel: int = 9, stride: int = 1):
        super().__init__()
        self.gcn = GraphConv(cin, cout)
        self.norm_s = nn.BatchNorm2d(cout)
        self.tcn = nn.Conv2d(cout, cout, (kernel, 1), (stride, 1), ((kernel - 1) // 2, 0), bias=False)
        self.norm_t = nn.BatchNorm2d(cout)
        self.residual = (nn.Identity() if cin == cout and stride == 1 else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1), bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: Tensor, adjacency: Tensor) -> Tensor:
        y = self.gcn(x.permute(0, 2, 3, 1), adjacency).permute(0, 3, 1, 2)  # (B, T, P, C) graph conv
        y = F.relu(self.norm_s(y))
        y = self.norm_t(self.tcn(y))
        return F.relu(y + self.residual(x))


class STGCN(Method):
    """ST-GCN over the landmark graph of a clip, 128-d embedding."""

    input_kind = InputKind.LANDMARKS

    @dataclass(frozen=True)
    class Config(LandmarkConfig):  # + extractor, n_points: filled in by the runner
        widths: tuple[int, ...] = (32, 32, 64, 64)
        strides: tuple[int, ...] = (1, 1, 2, 1)
        temporal_kernel: int = 9
        embedding_dim: int = 128
        temperature: float = 0.07  # SupCon (avbench's default loss)
        motion_only: bool = False  # subtract each node's clip-mean position (measured: worse here)
        velocity: bool = False  # add per-frame displacement as node features (measured: no gain here)

    def __init__(self, config=None):
        super().__init__(config)
        c = self.config
        if len(c.widths) != len(c.strides):
            raise ValueError(f"widths {c.widths} and strides {c.strides} must have the same length")
        self.layout = layout_for(c.n_points)
        edge_index = torch.from_numpy(self.layout.edge_index())
        self.register_buffer("edge_index", edge_index, persistent=False)
        self.register_buffer("adjacency", normalised_adjacency(edge_index, self.layout.size), persistent=False)
        n_in = 4 if c.velocity else 2
        self.data_norm = nn.BatchNorm1d(n_in * self.layout.size)
        chans = (n_in, *c.widths)
        self.blocks = nn.ModuleList(STGCNBlock(chans[i], chans[i + 1], c.temporal_kernel, c.strides[i])
                                    for i in range(len(c.widths)))
        self.out = nn.Linear(chans[-1], c.embedding_dim)

    def embed(self, clips: Tensor) -> Tensor:
        x = normalise_points(clips, self.layout)  # (B, T, P, 2)
        if self.config.motion_only:
            x = x - x.mean(dim=1, keepdim=True)
        if self.config.velocity:  # displacement since the previous frame (0 for the first)
            x = torch.cat([x, torch.diff(x, dim=1, prepend=x[:, :1])], dim=-1)
        b, t, p, c = x.shape
        x = self.data_norm(x.reshape(b, t, p * c).transpose(1, 2)).reshape(b, p, c, t)
        x = x.permute(0, 2, 3, 1)  # (B, C, T, P)
        for block in self.blocks:
            x = block(x, self.adjacency)
        return F.normalize(self.out(x.mean(dim=(2, 3))), dim=1)
