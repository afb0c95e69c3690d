"""The ConvStack's first conv (1 -> 8 channels, kernel 4, stride 2) at the paper's batch, as it is
and as space-to-depth (2 x 2 blocks -> 4 channels, kernel 2, stride 1; the same sums), FP16/BF16."""
import json, sys, torch, torch.nn.functional as F
torch.backends.cudnn.benchmark = True
N = 128 * 63
def timed(fn, n=20):
    for _ in range(5): fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record()
    for _ in range(n): fn()
    e.record(); torch.cuda.synchronize()
    return s.elapsed_time(e) / n
w = torch.randn(8, 1, 4, 4, device="cuda", requires_grad=True); b = torch.randn(8, device="cuda", requires_grad=True)
x = torch.rand(N, 128, 128, device="cuda")
def plain(x):
    return F.conv2d(x.reshape(N, 128, 128, 1).permute(0, 3, 1, 2), w.contiguous(memory_format=torch.channels_last), b, stride=2)
def s2d(x):
    xs = x.reshape(N, 64, 2, 64, 2).permute(0, 1, 3, 2, 4).reshape(N, 64, 64, 4).permute(0, 3, 1, 2)
    ws = w.reshape(8, 2, 2, 2, 2).permute(0, 2, 4, 1, 3).reshape(8, 4, 2, 2).contiguous(memory_format=torch.channels_last)
    return F.conv2d(xs, ws, b, stride=1)
out = []
for dtype in (torch.float16, torch.bfloat16):
    xd = x.to(dtype)
    for name, f in (("plain", plain), ("space_to_depth", s2d)):
        def fwd():
            with torch.autocast("cuda", dtype=dtype):
                return f(xd)
        y = fwd(); g = torch.randn_like(y)
        def both():
            fwd().backward(g)
        with torch.autocast("cuda", dtype=dtype):
            err = (plain(xd).float() - s2d(xd).float()).abs().max().item()
        r = {"dtype": str(dtype).split(".")[-1], "variant": name, "forward_ms": timed(fwd), "forward_backward_ms": timed(both), "max_abs_diff_vs_plain": err}
        out.append(r); print(r, flush=True)
json.dump(out, open(sys.argv[1], "w"), indent=1)
