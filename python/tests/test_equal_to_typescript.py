"""Every sample read by this package equals the TypeScript reader's (jpeg: within the decoder tolerance)."""
import numpy as np
import pytest

import imgstore
from conftest import STORES, ts_dump

# Two libjpeg-turbo decoders: Pillow (accurate integer IDCT) and @imgstore/codec-jpeg (WebAssembly, fast
# integer IDCT). Measured on samples/images at 32x24 RGB: max 7, mean 1.04 per value (33% exact, 90% within 2);
# at 20x20 grey: max 4, mean 0.60. See python/README.md "JPEG stores".
JPEG_MAX_DIFF = 8
JPEG_MEAN_DIFF = 1.5


@pytest.mark.parametrize("kind", [*STORES, "sharded"])
def test_every_sample_equals_the_typescript_reader(make_store, kind):
    path = make_store(kind)
    ts = ts_dump(path)
    assert "error" not in ts, ts.get("error")
    with imgstore.open_dataset(path) as ds:
        py = list(ds)
        assert len(py) == len(ts["samples"]) > 0
        assert ds.rejects() == ts["rejects"]
        assert len(ds.rejects()) == 1  # broken.jpg
    worst = []
    for p, t in zip(py, ts["samples"]):
        assert (p.index, p.name, p.label, list(p.shape)) == (t["index"], t["name"], t["label"], t["shape"])
        assert p.data.dtype == np.uint8 and p.data.shape == tuple(t["shape"])
        if "jpeg" in kind:
            diff = np.abs(p.data.astype(np.int16) - t["pixels"].astype(np.int16))
            worst.append((int(diff.max()), float(diff.mean())))
        else:
            assert np.array_equal(p.data, t["pixels"]), p.name
    if worst:
        print(f"{kind}: max diff {max(w[0] for w in worst)}, mean {np.mean([w[1] for w in worst]):.3f}")
        assert max(w[0] for w in worst) <= JPEG_MAX_DIFF
        assert np.mean([w[1] for w in worst]) <= JPEG_MEAN_DIFF


def test_sequence_protocol(make_store):
    with imgstore.open_store(make_store("raw")) as store:
        n = len(store)
        assert store[-1].index == n - 1 and store[-n].index == 0
        assert np.array_equal(store[-1].data, store[n - 1].data)
        with pytest.raises(IndexError):
            store[n]
        with pytest.raises(IndexError):
            store[-n - 1]
        assert [s.index for s in store[2:5]] == [2, 3, 4]
        assert [s.index for s in store] == list(range(n))
        assert store.header["format"] == "imgstore" and store.header["count"] == n
        sample = store[0]
        assert sample.data.flags.writeable and sample.meta is None
        sample.data[:] = 0  # owned by the sample: never the store's memory map
        assert store[0].data.any()


def test_sharded_dataset_global_index(make_store):
    path = make_store("sharded")
    with imgstore.open_dataset(path) as ds, imgstore.open_dataset(path + "/dataset.json") as ds2:
        assert len(ds.shards) == 3 and len(ds) == sum(len(s) for s in ds.shards) == len(ds2)
        assert ds[-1].index == len(ds) - 1
        assert [s.name for s in ds] == sorted(s.name for s in ds)  # shards concatenate in input order
        k, local = ds.locate(len(ds.shards[0]))
        assert (k, local) == (1, 0)


def test_verify_once_reads_the_same(make_store):
    path = make_store("lz4")
    with imgstore.open_store(path, verify="once") as once, imgstore.open_store(path) as always:
        for _ in range(2):
            for a, b in zip(once, always):
                assert np.array_equal(a.data, b.data)
    with pytest.raises(ValueError):
        imgstore.open_store(path, verify="never")
