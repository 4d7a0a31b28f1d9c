"""Fixed glibc malloc thresholds for processes that load batches (called when imgstore.torch is imported).

glibc's mmap threshold is dynamic: freeing a mapped block raises it to that block's size and the trim
threshold to twice that. A DataLoader process frees 64 samples and a 12 MiB batch every step, so the
free space at the heap's top crosses the trim threshold again and again: glibc returns it to the kernel
after a batch and the next batch faults every page back in (20-30 page faults per sample, a sample
costing several times its read). Whether a process falls into that depends on its allocation history
(measured: about half of fresh processes). Fixed thresholds (mmap 32 MiB, glibc's own ceiling for the
dynamic one; trim 128 MiB) keep the heap's pages: the process holds up to 128 MiB more of free heap.

Left alone when IMGSTORE_MALLOPT=0, when the environment already sets glibc's malloc settings
(MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_, GLIBC_TUNABLES with glibc.malloc.*), and off glibc.
"""
import ctypes
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 128 * 1024 * 1024

# What tune() did in this process: None before it runs, then a short phrase (bench output, tests).
state = None


def _user_settings(environ):
    if environ.get("MALLOC_MMAP_THRESHOLD_") or environ.get("MALLOC_TRIM_THRESHOLD_"):
        return True
    return "glibc.malloc." in environ.get("GLIBC_TUNABLES", "")


def tune(environ=os.environ):
    global state
    if state is not None:
        return state
    if environ.get("IMGSTORE_MALLOPT", "1").strip().lower() in ("0", "off", "no", "false"):
        state = "off (IMGSTORE_MALLOPT=0)"
    elif _user_settings(environ):
        state = "left to the environment's MALLOC_ settings"
    else:
        try:
            libc = ctypes.CDLL(None)
            libc.gnu_get_libc_version  # glibc only: musl and others have other allocators
            mallopt = libc.mallopt
        except (OSError, AttributeError):
            state = "not glibc: unchanged"
            return state
        mallopt.restype = ctypes.c_int
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        # Both: setting either one turns the dynamic adjustment off, for both.
        ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        state = f"mmap {MMAP_THRESHOLD >> 20} MiB, trim {TRIM_THRESHOLD >> 20} MiB" if ok else "mallopt refused"
    return state
