"""imgstore.torch: DataLoader with workers, DistributedSampler, SkipBadSamples, pickling."""
import os
import pickle
import struct
import zlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, Dataset  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

import imgstore  # noqa: E402
from imgstore.torch import ImgstoreDataset, SkipBadSamples, skip_none_collate  # noqa: E402
from test_refusals import edit  # noqa: E402


class WithIndex(Dataset):
    """(index, image, label, pid): which index each batch row is, and which process read it."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        image, label = self.ds[i]
        return i, image, label, os.getpid()


def test_dataloader_two_workers_every_index_once_per_epoch(make_store):
    path = make_store("sharded")
    ds = ImgstoreDataset(path)
    with imgstore.open_dataset(path) as direct:
        expected = [torch.from_numpy(s.data).permute(2, 0, 1) for s in direct]
        labels = [s.label for s in direct]
    loader = DataLoader(WithIndex(ds), batch_size=4, shuffle=True, num_workers=2)
    for _ in range(2):
        seen, pids = [], set()
        for idx, images, lab, pid in loader:
            assert images.dtype == torch.uint8 and images.shape[1:] == (3, 12, 16)
            for i, image, label in zip(idx.tolist(), images, lab.tolist()):
                assert torch.equal(image, expected[i]) and label == labels[i]
            seen += idx.tolist()
            pids |= set(pid.tolist())
        assert sorted(seen) == list(range(len(ds)))
        assert os.getpid() not in pids and len(pids) == 2  # read in the workers


def test_spawned_worker_and_pickle(make_store):
    ds = ImgstoreDataset(make_store("lz4"), layout="HWC")
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[3][0], ds[3][0]) and clone[3][0].shape == (24, 32, 3)
    loader = DataLoader(ds, batch_size=8, num_workers=1, multiprocessing_context="spawn")
    assert sum(len(b[0]) for b in loader) == len(ds)


def test_distributed_sampler_covers_the_set(make_store):
    ds = ImgstoreDataset(make_store("raw"))
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=1)
        sampler.set_epoch(0)
        loader = DataLoader(WithIndex(ds), batch_size=5, sampler=sampler)
        seen.append([i for batch in loader for i in batch[0].tolist()])
    assert len(seen[0]) == len(seen[1]) == (len(ds) + 1) // 2
    assert set(seen[0]) | set(seen[1]) == set(range(len(ds)))


def test_transform_and_unlabeled_label(make_store):
    ds = ImgstoreDataset(make_store("grey"), transform=lambda t: t.float() / 255, target_transform=lambda y: y * 10)
    image, label = ds[0]
    assert image.dtype == torch.float32 and image.shape == (1, 20, 20) and label == 0
    assert ds.label_names == ["animals", "landscapes", "objects", "sky"]


def test_skip_bad_samples(copy_store):
    path = copy_store("raw")

    def damage(txn, dbs):
        key = struct.pack(">I", 7)
        value = bytearray(txn.get(key, db=dbs["records"]))
        value[-1] ^= 0xFF  # the CRC now disagrees
        txn.put(key, bytes(value), db=dbs["records"])

    edit(path, damage)
    with pytest.raises(imgstore.StoreDamagedError):
        list(DataLoader(ImgstoreDataset(path), batch_size=4))
    safe = SkipBadSamples(WithIndex(ImgstoreDataset(path)))
    seen = [i for batch in DataLoader(safe, batch_size=4, collate_fn=skip_none_collate) for i in batch[0].tolist()]
    assert seen == [i for i in range(len(safe)) if i != 7]
    assert list(safe.skipped) == [7] and "record 7 (key 00000007)" in safe.skipped[7]
    # with workers: every good index once, the bad one skipped in whichever worker read it
    # 29 samples in batches of 4: the last holds one, None when it is the bad one (1 time in 29).
    loader = DataLoader(safe, batch_size=4, shuffle=True, num_workers=2, collate_fn=skip_none_collate)
    batches = [b for b in loader if b is not None]
    assert sorted(i for batch in batches for i in batch[0].tolist()) == seen


def test_store_reopens_after_fork(make_store):
    import multiprocessing

    store = imgstore.open_store(make_store("raw"))
    first = store[0].data
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_sum_all, args=(store, queue))  # inherited by fork, not pickled
    child.start()
    total, reopened = queue.get(timeout=30)
    child.join(30)
    assert child.exitcode == 0 and reopened
    assert total == sum(int(s.data.sum()) for s in store)
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # pickled: reopened there too
        assert pool.apply(_sum_all, (store,)) == total
    assert np.array_equal(first, store[0].data)
    store.close()


def _sum_all(store, queue=None):
    parent_env = store._env
    total = sum(int(s.data.sum()) for s in store)
    if queue is None:
        return total
    queue.put((total, store._env is not parent_env))


@pytest.mark.parametrize("kind", ["raw", "lz4", "grey", "rgba-lz4", "jpeg", "grey-jpeg", "variable", "variable-lz4"])
def test_images_in_both_layouts_equal_the_samples(make_store, kind):
    """The dataset's single copy into C×H×W (or H×W×C) equals the Sample's pixels, owned and contiguous."""
    path = make_store(kind)
    chw, hwc = ImgstoreDataset(path), ImgstoreDataset(path, layout="HWC")
    with imgstore.open_store(path) as store:
        for i in (0, len(store) // 2, len(store) - 1):
            expected = torch.from_numpy(store[i].data)
            a, label = chw[i]
            b, label_b = hwc[i]
            assert a.is_contiguous() and b.is_contiguous() and a.shape == expected.permute(2, 0, 1).shape
            assert torch.equal(a, expected.permute(2, 0, 1)) and torch.equal(b, expected)
            assert label == label_b == (-1 if store[i].label is None else store[i].label)
            a[0, 0, 0] ^= 1  # writable and owned: the next read is unchanged
            assert torch.equal(chw[i][0], expected.permute(2, 0, 1))


@pytest.mark.parametrize("kind", ["raw", "lz4"])
def test_record_with_data_not_last_reads_through_the_general_path(copy_store, kind):
    """Records whose "data" is not the map's last key (not what imgstore writers lay out) still read, the
    same in every layout; a flipped byte in such a record is still a checksum mismatch."""
    import lz4.block
    import msgpack

    path = copy_store(kind)
    with imgstore.open_store(path) as store:
        n, original = len(store), store[2]

    def reorder(txn, dbs):
        record = {"data": original.data.tobytes(), "name": original.name, "label": original.label,
                  "shape": list(original.shape), "dtype": "uint8", "extra": 7}
        payload = msgpack.packb(record, use_bin_type=True)
        if kind == "lz4":
            payload = lz4.block.compress(payload, store_size=True)
        txn.put(struct.pack(">I", 2), struct.pack("<I", zlib.crc32(payload)) + payload, db=dbs["records"])
        bad = bytearray(payload)
        bad[len(bad) // 2] ^= 0x01
        txn.put(struct.pack(">I", 3), struct.pack("<I", zlib.crc32(payload)) + bytes(bad), db=dbs["records"])

    edit(path, reorder)
    for verify in ("always", "once"):
        with imgstore.open_store(path, verify=verify) as store:
            sample = store[2]
            assert np.array_equal(sample.data, original.data) and sample.extra == {"extra": 7}
            for layout, image in (("CHW", torch.from_numpy(original.data).permute(2, 0, 1)),
                                  ("HWC", torch.from_numpy(original.data))):
                ds = ImgstoreDataset(path, verify=verify, layout=layout)
                got, label = ds[2]
                assert got.is_contiguous() and torch.equal(got, image) and label == original.label
                with pytest.raises(imgstore.StoreDamagedError, match="checksum mismatch"):
                    ds[3]
            with pytest.raises(imgstore.StoreDamagedError, match="checksum mismatch"):
                store[3]
            assert len(store) == n


@pytest.mark.parametrize("kind", ["raw", "lz4", "jpeg", "grey", "rgba-lz4"])
@pytest.mark.parametrize("layout", ["CHW", "HWC"])
def test_collate_returns_the_batch_read_in_place(make_store, kind, layout):
    """__getitems__ reads each image into its row of one batch tensor; collate returns that tensor (no
    copy), equal to what default_collate makes of the same samples and to one __getitem__ per index."""
    from torch.utils.data import default_collate
    from imgstore.torch import collate

    ds = ImgstoreDataset(make_store(kind), layout=layout)
    indices = [5, 0, len(ds) - 1, 5, 2]
    batch = ds.__getitems__(indices)
    images, labels = collate(batch)
    assert images is batch.images and images.is_contiguous() and images.dtype == torch.uint8
    stacked, stacked_labels = default_collate(batch)
    assert images.data_ptr() != stacked.data_ptr()
    assert torch.equal(images, stacked) and torch.equal(labels, stacked_labels) and labels.dtype == torch.int64
    one_by_one = [ds[i] for i in indices]
    assert torch.equal(images, torch.stack([x for x, _ in one_by_one]))
    assert labels.tolist() == [y for _, y in one_by_one]


def test_collate_with_transforms(make_store):
    from torch.utils.data import default_collate
    from imgstore.torch import collate

    path = make_store("raw")
    plain = ImgstoreDataset(path)
    in_place = ImgstoreDataset(path, transform=lambda x: x.bitwise_not_(), target_transform=lambda y: y + 10)
    batch = in_place.__getitems__([1, 2, 3])
    images, labels = collate(batch)
    assert images is batch.images  # changed in place: still the batch tensor
    assert torch.equal(images, torch.stack([plain[i][0].bitwise_not() for i in (1, 2, 3)]))
    assert labels.tolist() == [plain[i][1] + 10 for i in (1, 2, 3)]
    floats = ImgstoreDataset(path, transform=lambda x: x.float() / 255)
    batch = floats.__getitems__([1, 2, 3])
    images, labels = collate(batch)  # new tensors: stacked as default_collate does
    assert images.dtype == torch.float32 and torch.equal(images, default_collate(batch)[0])
    assert torch.equal(images, torch.stack([plain[i][0].float() / 255 for i in (1, 2, 3)]))


def test_variable_size_store_reads_one_by_one(make_store):
    from imgstore.torch import collate

    ds = ImgstoreDataset(make_store("variable"), transform=lambda x: x[:, :16, :16])
    batch = ds.__getitems__([0, 1, 2])
    assert type(batch) is list
    images, labels = collate(batch)
    assert images.shape == (3, 3, 16, 16) and torch.equal(images[1], ds[1][0])


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_with_collate(make_store, workers):
    from imgstore.torch import collate

    path = make_store("lz4")
    ds = ImgstoreDataset(path)
    expected = [ds[i] for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=4, num_workers=workers, collate_fn=collate)
    got = [(image, label) for images, labels in loader for image, label in zip(images, labels.tolist())]
    assert len(got) == len(ds)
    assert all(torch.equal(a, b) and y == z for (a, y), (b, z) in zip(got, expected))


def test_batches_made_in_workers_are_in_shared_memory(monkeypatch):
    from imgstore import torch as it

    assert not it._new_batch((2, 3, 4)).is_shared()
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: object())
    batch = it._new_batch((2, 3, 4))
    assert batch.is_shared() and batch.shape == (2, 3, 4) and batch.dtype == torch.uint8


def test_damaged_record_in_a_batch(copy_store):
    from imgstore.torch import collate

    path = copy_store("raw")

    def damage(txn, dbs):
        key = struct.pack(">I", 6)
        value = bytearray(txn.get(key, db=dbs["records"]))
        value[-1] ^= 0xFF
        txn.put(key, bytes(value), db=dbs["records"])

    edit(path, damage)
    with pytest.raises(imgstore.StoreDamagedError, match="record 6"):
        list(DataLoader(ImgstoreDataset(path), batch_size=4, collate_fn=collate))
