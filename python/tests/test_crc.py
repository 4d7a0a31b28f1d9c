"""CRC-32 through libdeflate where the system has it: zlib's values on every buffer the reader hands it,
and a damaged large record still refused with the same message."""
import os
import random
import struct
import subprocess
import sys
import zlib

import lmdb
import pytest

import imgstore
from imgstore import StoreDamagedError, _crc
from conftest import run_cli

# Under CI (Debian, python3-pil installed: libtiff6 pulls in libdeflate0) the fast path must be the one tested.
if os.environ.get("CI") in ("true", "1"):
    assert _crc.implementation == "libdeflate", "libdeflate0 is missing: the reader would fall back to zlib"


def test_same_values_as_zlib_on_every_kind_of_buffer():
    rng = random.Random(1)
    blob = bytes(rng.getrandbits(8) for _ in range(300_000))
    lengths = [0, 1, 7, _crc.LARGE - 1, _crc.LARGE, _crc.LARGE + 1, 65_536, 196_608, 299_990]
    for n in lengths:
        for offset in (0, 1, 3, 4, 9):
            view = memoryview(blob)[offset:offset + n]  # read-only, unaligned, as LMDB's map views
            want = zlib.crc32(view)
            assert _crc.crc32(view) == want, (n, offset)
            assert _crc.crc32(bytearray(view)) == want and _crc.crc32(bytes(view)) == want


@pytest.mark.skipif(_crc.implementation != "libdeflate", reason="libdeflate is not installed")
def test_large_buffers_go_through_libdeflate():
    assert imgstore.store.crc32 is _crc.crc32 is not zlib.crc32  # what the read path calls
    calls = []

    def spy(*args):
        calls.append(args[2])
        return _crc._libdeflate_crc32(*args)

    data = bytes(range(256)) * 100
    assert _crc._crc32_libdeflate(memoryview(data), spy) == zlib.crc32(data) and calls == [len(data)]
    assert _crc._crc32_libdeflate(memoryview(data)[:100], spy) == zlib.crc32(data[:100])
    assert calls == [len(data)]  # a small buffer: zlib's direct call


def test_zlib_when_turned_off():
    done = subprocess.run([sys.executable, "-c", "import imgstore._crc as c; print(c.implementation, c.crc32 is "
                           "__import__('zlib').crc32)"], capture_output=True, text=True,
                          env={**os.environ, "IMGSTORE_CRC32": "zlib"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["zlib", "True"]


def test_damaged_large_record_is_refused_with_the_computed_checksum(workdir, tmp_path):
    # 96×64×3 = 18,432 bytes of pixels: above the threshold, so the store's reads use the fast path.
    path = str(tmp_path / "large.lmdb")
    run_cli("convert", str(workdir / "images"), path, "--size", "96x64", "-q")
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=8)
    with env.begin(db=env.open_db(b"records", create=False)) as txn:
        value = bytes(txn.get(struct.pack(">I", 3)))
    env.close()
    assert len(value) - 4 >= _crc.LARGE
    data_file = os.path.join(path, "data.mdb")
    blob = bytearray(open(data_file, "rb").read())
    at = blob.find(value[4000:4064])
    assert at > 0 and blob.find(value[4000:4064], at + 1) < 0
    blob[at + 5] ^= 0x40
    open(data_file, "wb").write(blob)
    damaged = bytes(blob[at - 4000 + 4:at - 4000 + len(value)])  # the payload as it is now on disk
    with imgstore.open_store(path) as store:
        with pytest.raises(StoreDamagedError) as caught:
            store[3]
        assert caught.value.index == 3
        stored = struct.unpack_from("<I", value, 0)[0]
        assert f"checksum mismatch (stored 0x{stored:08x}, computed 0x{zlib.crc32(damaged):08x})" in str(caught.value)
        assert store[2].index == 2 and store[4].index == 4  # the others still read
