"""Fused GPU kernels for methods' layers.

Each op computes the same function as a plain PyTorch expression that stays in the method (the
path CPUs take, and the one the tests compare the op against), only in fewer passes over GPU
memory.  Ops are written in Triton, which ships with CUDA builds of PyTorch; without it, or on a
CPU, methods use their plain path.
"""
