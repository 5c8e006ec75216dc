"""Decoded frames: the per-camera shared-memory ring (``ring``) and motion detection over its
zero-copy views (``motion``, calling the Numba kernels in ``native.motion``)."""
