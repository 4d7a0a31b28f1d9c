"""The C×H×W copy (libyuv where the system has it, else numpy) equals numpy's transposing copy exactly,
for every codec, channel count and shape; IMGSTORE_PLANAR=numpy turns libyuv off."""
import os
import subprocess
import sys

import numpy as np
import pytest

import imgstore
from imgstore import _planar
from conftest import store_maker

# Where libyuv0 is missing (it comes with libavif/libgd, not with python3-pil), the libyuv-only test is
# skipped and the others test numpy's copy.
needs_libyuv = pytest.mark.skipif(_planar.implementation != "libyuv", reason="libyuv is not installed")


def expected(hwc):
    return np.ascontiguousarray(hwc.transpose(2, 0, 1))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("hw", [(1, 1), (3, 5), (24, 32), (64, 64), (67, 61), (256, 256), (480, 333), (7, 4099)])
def test_equal_to_numpy_transpose(channels, hw):
    rng = np.random.default_rng(channels * 1000 + hw[0])
    hwc = rng.integers(0, 256, (*hw, channels), dtype=np.uint8)
    hwc.flags.writeable = False  # as a view into LMDB's map
    got = _planar.to_chw(hwc)
    assert got.shape == (channels, *hw) and got.flags.c_contiguous and got.flags.writeable and got.flags.owndata
    assert np.array_equal(got, expected(hwc))


def test_unaligned_and_strided_sources():
    blob = np.random.default_rng(5).integers(0, 256, 3 + 100 * 90 * 3, dtype=np.uint8)
    hwc = blob[3:].reshape(100, 90, 3)  # starts at an odd address, as a record's pixels after its head
    assert np.array_equal(_planar.to_chw(hwc), expected(hwc))
    strided = np.random.default_rng(6).integers(0, 256, (100, 180, 3), dtype=np.uint8)[:, ::2]
    assert np.array_equal(_planar.to_chw(strided), expected(strided))


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_into_a_given_array(channels):
    hwc = np.random.default_rng(channels).integers(0, 256, (70, 90, channels), dtype=np.uint8)
    batch = np.zeros((3, channels, 70, 90), np.uint8)
    got = _planar.to_chw(hwc, out=batch[1])
    assert got.shape == (channels, 70, 90) and np.shares_memory(got, batch[1])
    assert np.array_equal(batch[1], expected(hwc)) and not batch[0].any() and not batch[2].any()
    small = hwc[:8, :8]  # below LARGE: numpy's copy, into out as well
    out = np.zeros((channels, 8, 8), np.uint8)
    assert _planar.to_chw(small, out=out) is out and np.array_equal(out, expected(small))
    with pytest.raises(ValueError):
        _planar.to_chw(hwc, out=np.zeros((channels, 90, 70), np.uint8))


def test_owned_single_channel_is_not_copied():
    grey = np.arange(64 * 80, dtype=np.uint32).astype(np.uint8).reshape(64, 80, 1)
    assert np.shares_memory(_planar.to_chw(grey, owned=True), grey)
    copied = _planar.to_chw(grey)
    assert not np.shares_memory(copied, grey) and np.array_equal(copied, expected(grey))


@needs_libyuv
def test_large_images_go_through_libyuv(monkeypatch):
    calls = []
    for c, (fn, planes) in list(_planar._libyuv.items()):
        def spy(*args, _fn=fn, _c=c):
            calls.append(_c)
            return _fn(*args)
        monkeypatch.setitem(_planar._libyuv, c, (spy, planes))
    for c in (2, 3, 4):
        hwc = np.random.default_rng(c).integers(0, 256, (64, 64, c), dtype=np.uint8)
        assert np.array_equal(_planar.to_chw(hwc), expected(hwc))
    _planar.to_chw(np.zeros((8, 8, 3), np.uint8))  # below LARGE: numpy's copy
    assert calls == [c for c in (2, 3, 4) if c in _planar._libyuv] and 3 in calls


def test_numpy_when_turned_off():
    code = "import imgstore._planar as p; print(p.implementation, len(p._libyuv))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "IMGSTORE_PLANAR": "numpy"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numpy", "0"]


LARGE_STORES = {  # every image at least _planar.LARGE pixels, so that the reads use the fast path
    "raw": ["--size", "96x64"],
    "lz4": ["--size", "96x64", "--codec", "lz4"],
    "jpeg": ["--size", "96x64", "--codec", "jpeg"],
    "grey": ["--size", "96x64", "--channels", "1"],
    "rgba-lz4": ["--size", "80x72", "--channels", "4", "--codec", "lz4"],
    "rgba": ["--size", "80x72", "--channels", "4"],
    "variable": ["--size", "shorter:72"],
    "variable-lz4": ["--size", "shorter:72", "--codec", "lz4"],
}


@pytest.fixture(scope="module")
def large_store(workdir):
    return store_maker(workdir, LARGE_STORES, prefix="large-")


@pytest.mark.parametrize("kind", sorted(LARGE_STORES))
def test_dataset_chw_equals_the_samples_transposed(large_store, kind, monkeypatch):
    torch = pytest.importorskip("torch")
    from imgstore.torch import ImgstoreDataset

    path = large_store(kind)
    with imgstore.open_store(path) as store:
        samples = [s.data for s in store]
    assert all(s.shape[0] * s.shape[1] >= _planar.LARGE for s in samples)
    for implementation in (dict(_planar._libyuv), {}):  # libyuv (when present), then numpy's copy
        monkeypatch.setattr(_planar, "_libyuv", implementation)
        ds = ImgstoreDataset(path)
        for i, hwc in enumerate(samples):
            image, _ = ds[i]
            assert image.is_contiguous() and torch.equal(image, torch.from_numpy(expected(hwc))), (kind, i)
        batch = ds.__getitems__(range(len(samples)))  # fixed-size: read into the rows of one tensor
        for i, hwc in enumerate(samples):
            assert torch.equal(batch[i][0], torch.from_numpy(expected(hwc))), (kind, i)
