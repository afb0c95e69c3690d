"""avbench: an open benchmark harness for avatar fingerprinting.

Avatar fingerprinting asks *who drives* a synthetic talking-head video (whose facial
motion animates it), independently of the face it is rendered onto.  avbench hosts
methods, protocols, datasets and landmark extractors as pluggy plugins (see
:mod:`avbench.hookspecs`) and runs them under one set of data, protocols and metrics.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("avbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
