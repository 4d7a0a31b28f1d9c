"""H×W×C → C×H×W copies (the layout torchvision and ImgstoreDataset's default use).

numpy's transposing copy (np.ascontiguousarray(a.transpose(2, 0, 1))) reads the source with a stride of
C bytes, one byte at a time: ~80-100 µs for a 256×256×3 image, more than the rest of a read. libyuv's
SplitRGBPlane / SplitARGBPlane / SplitUVPlane de-interleave with SIMD shuffles in ~15-25 µs; Debian ships
the library as libyuv0 (libavif and libgd pull it in). It is called through ctypes when the system has it,
else numpy does the copy. The result is the same array either way; IMGSTORE_PLANAR=numpy forces numpy.
"""
import ctypes
import os

import numpy as np

# Below this many pixels the ctypes call (~3 µs) costs more than numpy's copy saves.
LARGE = 4096

_LIBRARY_NAMES = ("libyuv.so.0", "libyuv.so", "libyuv.dylib", "libyuv.dll", "yuv.dll")

_i, _p = ctypes.c_int, ctypes.c_void_p
# Name -> channels. Arguments: source and its stride, then (plane, stride) per channel, width, height.
_SPLITTERS = {"SplitUVPlane": 2, "SplitRGBPlane": 3, "SplitARGBPlane": 4}


def _load_libyuv():
    """{channels: (function, planes)} for the splitters the library has and that pass the probe."""
    for name in _LIBRARY_NAMES:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        found = {}
        for fn_name, c in _SPLITTERS.items():
            fn = getattr(lib, fn_name, None)
            if fn is None:
                continue
            fn.restype = None
            fn.argtypes = (_p, _i) * (c + 1) + (_i, _i)
            planes = _probe(fn, c)
            if planes is not None:
                found[c] = (fn, planes)
        if found:
            return found
    return {}


def _call(fn, c, planes, src_address, out, h, w):
    """De-interleaves h×w pixels of c channels at src_address into out (C×H×W): the function's j-th
    destination argument is plane planes[j] of out."""
    base, size = out.ctypes.data, h * w
    args = []
    for j in range(c):
        args += (base + planes[j] * size, w)
    fn(src_address, w * c, *args, w, h)


def _probe(fn, c):
    """planes for _call (which argument receives which source byte), found on a small image wide enough
    for the SIMD rows and then checked against numpy's copy; None when the function does not de-interleave."""
    h, w = 3, 67
    src = (np.arange(h * w * c, dtype=np.uint32) % 251).astype(np.uint8).reshape(h, w, c)
    src[0, 0] = np.arange(251, 251 + c)  # first pixel: byte k marked 251 + k, outside the rest's values
    out = np.zeros((c, h, w), np.uint8)
    _call(fn, c, range(c), src.ctypes.data, out, h, w)
    planes = [None] * c
    for j in range(c):
        k = int(out[j, 0, 0]) - 251  # argument j received source byte k
        if not 0 <= k < c or planes[j] is not None:
            return None
        planes[j] = k
    planes = tuple(planes)
    out[:] = 0
    _call(fn, c, planes, src.ctypes.data, out, h, w)
    return planes if np.array_equal(out, src.transpose(2, 0, 1)) else None


_libyuv = {} if os.environ.get("IMGSTORE_PLANAR") == "numpy" else _load_libyuv()
implementation = "libyuv" if _libyuv else "numpy"


def to_chw(hwc, owned=False, out=None):
    """A C-contiguous C×H×W uint8 array equal to np.ascontiguousarray(hwc.transpose(2, 0, 1)), always a
    new array unless `owned` (then a 1-channel image is returned as a view of `hwc`), or `out` (a
    C-contiguous C×H×W uint8 array, written and returned). `hwc` is an H×W×C uint8 array (it may be
    read-only: a view into LMDB's map)."""
    h, w, c = hwc.shape
    if out is not None and (out.shape != (c, h, w) or out.dtype != np.uint8 or not out.flags.c_contiguous):
        raise ValueError(f"out must be a C-contiguous uint8 array of shape {(c, h, w)}")
    if c == 1:
        if out is not None:
            np.copyto(out, hwc.reshape(1, h, w))
            return out
        return hwc.reshape(1, h, w) if owned and hwc.flags.c_contiguous else hwc.reshape(1, h, w).copy()
    split = _libyuv.get(c)
    # libyuv takes int sizes (and may treat the whole image as one row of h*w pixels)
    if split is None or h * w < LARGE or h * w * c >= 1 << 31 or not hwc.flags.c_contiguous:
        if out is not None:
            np.copyto(out, hwc.transpose(2, 0, 1))
            return out
        # np.array copies even when the transposed view is contiguous already (a 1×1 image)
        return np.array(hwc.transpose(2, 0, 1), order="C")
    fn, planes = split
    if out is None:
        out = np.empty((c, h, w), np.uint8)
    _call(fn, c, planes, hwc.ctypes.data, out, h, w)
    return out
