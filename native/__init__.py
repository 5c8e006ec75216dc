"""Numba kernels over zero-copy numpy views: motion detection and frame scaling.

Pure kernels: arrays in, preallocated ``out=`` arrays written, no I/O, no import of ``nvr``.
Compiled kernels are cached in ``NUMBA_CACHE_DIR`` (default ``~/.cache/nvr/numba``), which is
set here, before numba is first imported, because the package folder may not be writable.
"""

import os
from pathlib import Path

# nvr's compiled code: numba's cache here, the console's prebuilt kernel (gui.kernel) beside it
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nvr"
os.environ.setdefault("NUMBA_CACHE_DIR", str(CACHE_DIR / "numba"))
