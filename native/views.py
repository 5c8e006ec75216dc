"""Array views the kernels need and numba does not make: one contiguous span of memory."""

from __future__ import annotations

from numba import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import populate_array


def _span_codegen(context, builder, signature, args):
    """LLVM IR of ``span``: a new array header over the same data pointer and meminfo."""
    tile = context.make_array(signature.args[0])(context, builder, args[0])
    view = context.make_array(signature.return_type)(context, builder)
    populate_array(
        view,
        data=tile.data,
        shape=[args[1]],
        strides=[tile.itemsize],
        itemsize=tile.itemsize,
        meminfo=tile.meminfo,
        parent=tile.parent,
    )
    return impl_ret_borrowed(context, builder, signature.return_type, view._getvalue())


@intrinsic
def span(typingctx, tile, size):
    """The first ``size`` elements of memory from ``tile``'s first element, as a 1-D
    C-contiguous view of the same data (``tile``'s rows and whatever lies between them).

    How a row-strided array is read or written with contiguous (vectorised) accesses at
    ``row * pitch + column``: numba has no contiguous view of a row of an ``'A'`` array, and its
    accesses through a run-time stride do not vectorise (the scale kernel's RGBA stores took
    three times as long). ``size`` must not reach past the tile's last element; the view's
    type is writable whatever ``tile``'s is.
    """
    if not (isinstance(tile, types.Array) and isinstance(size, types.Integer)):
        return None
    view = types.Array(tile.dtype, 1, "C", aligned=tile.aligned)
    return view(tile, types.intp), _span_codegen
