"""Time the ConvStack's four convs (forward + backward) at the paper's batch, FP16 vs BF16 autocast,
channels-last vs NCHW, with cuDNN autotuning on: which conv makes compiled BF16 slower than FP16."""
import json, sys, torch
torch.backends.cudnn.benchmark = True
N = 128 * 63  # B * T' frames
layers = [(1, 8, 4, 2, 0, 128), (8, 32, 3, 2, 0, 63), (32, 64, 2, 2, 1, 31), (64, 128, 1, 1, 0, 16)]
out = []
def timed(fn, n=20):
    for _ in range(5): fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / n
for i, (cin, cout, k, st, p, h) in enumerate(layers):
    for dtype in (torch.float16, torch.bfloat16):
        for layout in ("channels_last", "nchw"):
            conv = torch.nn.Conv2d(cin, cout, k, st, p).cuda()
            x = torch.randn(N, cin, h, h, device="cuda")
            if layout == "channels_last":
                conv = conv.to(memory_format=torch.channels_last)
                x = x.reshape(N, h, h, 1).permute(0, 3, 1, 2) if cin == 1 else x.contiguous(memory_format=torch.channels_last)
            x.requires_grad_(i > 0)
            def fwd():
                with torch.autocast("cuda", dtype=dtype):
                    return conv(x)
            y = fwd(); g = torch.randn_like(y)
            def both():
                y = fwd(); y.backward(g)
            r = {"layer": i + 1, "dtype": str(dtype).split(".")[-1], "layout": layout,
                 "forward_ms": timed(fwd), "forward_backward_ms": timed(both)}
            out.append(r); print(r, flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
