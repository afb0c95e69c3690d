"""ST-GCN on the landmark graph (methods/stgcn.py): shapes per layout, graph use, invariances."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torch_geometric")

from avbench_methods.stgcn import STGCN  # noqa: E402


@pytest.mark.parametrize(("n_points", "nodes", "edges"), [(478, 109, 306), (109, 109, 306), (68, 68, 84)])
def test_layouts_shapes_and_graph(n_points, nodes, edges):
    torch.manual_seed(0)
    m = STGCN(STGCN.Config(n_points=n_points)).eval()
    assert m.edge_index.shape == (2, 2 * edges) and int(m.edge_index.max()) == nodes - 1
    assert m.data_norm.num_features == 2 * nodes
    with torch.no_grad():
        e = m.embed(50 + 20 * torch.rand(3, 20, n_points, 3))
    assert e.shape == (3, 128)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3))


def test_embedding_ignores_face_position_and_size():
    torch.manual_seed(0)
    m = STGCN(STGCN.Config(n_points=68)).eval()
    x = 40 + 30 * torch.rand(2, 16, 68, 2)
    with torch.no_grad():
        torch.testing.assert_close(m.embed(x), m.embed(0.5 * x + 9.0), atol=1e-4, rtol=1e-4)


def test_graph_conv_equals_torch_geometric_gcnconv():
    """The dense per-frame propagation is torch_geometric's GCNConv, batched."""
    from torch_geometric.nn import GCNConv

    torch.manual_seed(0)
    m = STGCN(STGCN.Config(n_points=478)).eval()
    ours = m.blocks[0].gcn
    ref = GCNConv(2, ours.lin.out_features)
    ref.lin.weight.data.copy_(ours.lin.weight.data)
    ours.bias.data.normal_()
    ref.bias.data.copy_(ours.bias.data)
    x = torch.randn(5, 109, 2)
    torch.testing.assert_close(ours(x, m.adjacency), ref(x, m.edge_index), atol=1e-5, rtol=1e-5)


def test_messages_follow_the_graph():
    """Moving one landmark changes the first graph convolution's output only at that node and
    its neighbours."""
    torch.manual_seed(0)
    m = STGCN(STGCN.Config(n_points=68)).eval()
    gcn = m.blocks[0].gcn
    x = torch.rand(1, 68, 2)
    y0 = gcn(x, m.adjacency)
    x2 = x.clone()
    x2[0, 48] += 1.0  # a mouth corner
    changed = set(torch.nonzero((gcn(x2, m.adjacency) - y0).abs().sum(-1)[0] > 1e-6).flatten().tolist())
    ei = m.edge_index
    neighbours = set(ei[1][ei[0] == 48].tolist())
    assert changed == neighbours | {48}


def test_widths_and_strides_must_match():
    with pytest.raises(ValueError, match="must have the same length"):
        STGCN(STGCN.Config(n_points=68, widths=(8, 8), strides=(1,)))
