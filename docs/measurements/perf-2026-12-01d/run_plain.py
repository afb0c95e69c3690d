"""avbench's CLI with F5C's fused ccc kernels switched off (the plain path everywhere)."""
import avbench_methods.f5c as f5c

f5c.FUSED_CCC = False
from avbench.cli import main  # noqa: E402

main()
