"""imgstore.torch fixes glibc's malloc thresholds when imported, unless turned off or already set by the
environment. Checked by what malloc then does (each case in a fresh process): a 16 MiB block comes from
the heap instead of its own mapping, and stays in the heap after it is freed."""
import ctypes
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

try:
    _glibc = ctypes.CDLL(None)
    _glibc.gnu_get_libc_version
    _glibc.mallinfo2
except (OSError, AttributeError):
    pytest.skip("glibc 2.33 or newer (mallinfo2) only", allow_module_level=True)

PROBE = r"""
import ctypes, json
import imgstore.torch as it

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
before = libc.mallinfo2()
block = libc.malloc(16 << 20)
mapped = libc.mallinfo2().hblks - before.hblks  # blocks with their own mmap
libc.free(block)
print(json.dumps({"state": it.malloc_tuning, "mapped": mapped, "kept_mib": libc.mallinfo2().keepcost >> 20}))
"""


def probe(**env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith("MALLOC_") and k not in ("GLIBC_TUNABLES", "IMGSTORE_MALLOPT")}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_thresholds_set_on_import():
    got = probe()
    assert got["state"] == "mmap 32 MiB, trim 128 MiB"
    assert got["mapped"] == 0 and got["kept_mib"] >= 16  # from the heap, and kept there after free


@pytest.mark.parametrize("value", ["0", "off"])
def test_opt_out_leaves_glibc_defaults(value):
    got = probe(IMGSTORE_MALLOPT=value)
    assert got["state"] == "off (IMGSTORE_MALLOPT=0)"
    assert got["mapped"] == 1  # glibc's default: a block this large gets its own mapping, unmapped on free


@pytest.mark.parametrize("env", [{"MALLOC_TRIM_THRESHOLD_": "1000000000"}, {"MALLOC_MMAP_THRESHOLD_": "65536"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=65536"}])
def test_environment_settings_win(env):
    got = probe(**env)
    assert got["state"] == "left to the environment's MALLOC_ settings"
    assert got["mapped"] == 1  # glibc's 128 KiB or the environment's 64 KiB mmap threshold, not ours
