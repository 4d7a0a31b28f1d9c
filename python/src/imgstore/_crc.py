"""CRC-32 of record payloads: the value zlib.crc32 gives (FORMAT.md's checksum), computed by libdeflate
when the system has it, else by zlib.

libdeflate's CRC-32 (carry-less multiply) runs at ~2.5x zlib 1.2's on a 192 KiB record, and the CRC is
the largest cost of a read with verify="always". Debian ships it as libdeflate0, which Pillow's libtiff
already pulls in. It is called through ctypes (which releases the GIL, as zlib.crc32 does) and only for
large buffers, where the call's ~2 us do not matter. IMGSTORE_CRC32=zlib turns it off.
"""
import ctypes
import os
import zlib

import numpy as np

# Below this, zlib's direct call is faster than a ctypes call.
LARGE = 16 * 1024

_LIBRARY_NAMES = ("libdeflate.so.0", "libdeflate.so", "libdeflate.0.dylib", "libdeflate.dylib", "libdeflate.dll",
                  "deflate.dll")


def _load_libdeflate():
    for name in _LIBRARY_NAMES:
        try:
            lib = ctypes.CDLL(name)
            fn = lib.libdeflate_crc32
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_uint32
        fn.argtypes = (ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t)
        # Refuse a library that does not give zlib's values (a different build, a different function).
        probe = bytes(range(256)) * 300
        if fn(0, probe, len(probe)) == zlib.crc32(probe) and fn(0, b"123456789", 9) == 0xCBF43926:
            return fn
    return None


_libdeflate_crc32 = None if os.environ.get("IMGSTORE_CRC32") == "zlib" else _load_libdeflate()
implementation = "libdeflate" if _libdeflate_crc32 is not None else "zlib"


def _crc32_libdeflate(buf, _fn=_libdeflate_crc32, _zlib=zlib.crc32, _frombuffer=np.frombuffer, _u8=np.uint8):
    n = len(buf)
    if n < LARGE:
        return _zlib(buf)
    # The buffer may be read-only (a view into LMDB's map): numpy gives its address without a copy.
    return _fn(0, _frombuffer(buf, _u8).ctypes.data, n)


crc32 = zlib.crc32 if _libdeflate_crc32 is None else _crc32_libdeflate
