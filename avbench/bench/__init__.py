"""Benchmarks: how fast avbench trains, infers, loads data and scores, as measured records.

``avbench bench`` and the pytest-benchmark suite (``tests/bench``, marker ``benchmark``)
run the same functions; each returns a plain dict that lands in a JSON file together
with the machine it ran on (:mod:`avbench.bench.machine`).  Timings are never
asserted in unit tests: figures are measured and reported, with the machine.
"""
