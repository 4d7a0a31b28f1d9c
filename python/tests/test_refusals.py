"""Damaged and hostile stores: the typed errors, with the same reason (and index) as the TypeScript reader."""
import json
import os
import struct
import subprocess
import sys
import zlib

import lmdb
import msgpack
import pytest

import imgstore
from imgstore import StoreDamagedError, StoreFormatError, UnknownCodecError
from conftest import ts_dump


def edit(path, fn):
    """Opens a store copy for writing with py-lmdb (LMDB data format v1, as the store) and calls fn(txn, dbs)."""
    env = lmdb.open(path, max_dbs=8, map_size=os.path.getsize(os.path.join(path, "data.mdb")) * 2 + (1 << 20))
    dbs = {name: env.open_db(name.encode()) for name in ("meta", "records", "rejects")}
    with env.begin(write=True) as txn:
        fn(txn, dbs)
    env.close()
    lock = os.path.join(path, "lock.mdb")
    if os.path.exists(lock):
        os.remove(lock)


def set_header(txn, dbs, change, crc="keep"):
    header = msgpack.unpackb(txn.get(b"header", db=dbs["meta"]), raw=False)
    change(header)
    raw = msgpack.packb(header, use_bin_type=True)
    txn.put(b"header", raw, db=dbs["meta"])
    if crc == "update":
        txn.put(b"header-crc32", struct.pack("<I", zlib.crc32(raw)), db=dbs["meta"])
    elif crc == "drop":
        txn.delete(b"header-crc32", db=dbs["meta"])


def refusal(path, **kw):
    """The Python error at open and on reading every record, checked against the TypeScript reader's."""
    with pytest.raises(imgstore.ImgstoreError) as caught:
        with imgstore.open_dataset(path, **kw) as ds:
            for _ in ds:
                pass
    ts = ts_dump(path)["error"]
    err = caught.value
    assert type(err).__name__ == ts["name"], (err, ts)
    assert getattr(err, "reason", None) == ts["reason"], (err, ts)
    assert getattr(err, "index", None) == ts["index"], (err, ts)
    return err


def test_flipped_byte_inside_a_record_on_disk(copy_store):
    path = copy_store("raw")
    with imgstore.open_store(path) as store:
        n = len(store)
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=8)
    with env.begin(db=env.open_db(b"records", create=False)) as txn:
        value = txn.get(struct.pack(">I", 5))
    env.close()
    data_file = os.path.join(path, "data.mdb")
    blob = bytearray(open(data_file, "rb").read())
    at = blob.find(value[200:264])  # the record's pixels, in its overflow pages
    assert at > 0 and blob.find(value[200:264], at + 1) < 0
    blob[at + 10] ^= 0x01
    open(data_file, "wb").write(blob)
    err = refusal(path)
    assert isinstance(err, StoreDamagedError) and err.index == 5
    assert path in str(err) and "record 5 (key 00000005)" in str(err) and "checksum mismatch" in str(err)
    with imgstore.open_store(path) as store:  # the other records still read
        assert [s.index for s in store[:5]] == [0, 1, 2, 3, 4] and store[6].index == 6 and len(store) == n


def test_record_that_passes_its_checksum_but_does_not_decode(copy_store):
    path = copy_store("lz4")

    def put(txn, dbs):
        payload = b"\xff\xff\xff\x00" + b"garbage"  # an LZ4 block claiming 16 MB
        txn.put(struct.pack(">I", 3), struct.pack("<I", zlib.crc32(payload)) + payload, db=dbs["records"])

    edit(path, put)
    err = refusal(path)
    assert err.index == 3 and "does not decode" in str(err) and "00000003" in str(err)


def test_edited_header_fails_its_checksum(copy_store):
    path = copy_store("raw")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(count=h["count"] + 1)))
    err = refusal(path)
    assert err.reason == "damaged" and "checksum mismatch" in str(err) and path in str(err)


def test_edited_header_without_checksum_fails_the_field_checks(copy_store):
    path = copy_store("raw")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(count=h["count"] + 100), crc="drop"))
    err = refusal(path)
    assert err.reason == "damaged" and 'field "count"' in str(err)
    path = copy_store("lz4")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(shape=[48, 64, 3]), crc="update"))
    err = refusal(path)
    assert err.reason == "damaged" and 'field "shape"' in str(err) and "record 0 of shape [24, 32, 3]" in str(err)
    path = copy_store("grey")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(rejected=7), crc="update"))
    assert refusal(path).reason == "damaged"


@pytest.mark.parametrize("field,value", [("minorVersion", "1"), ("minorVersion", -1), ("multiLabel", 1)])
def test_format_1_1_header_fields_of_the_wrong_type(copy_store, field, value):
    """A header whose 1.1 fields have the wrong type is damage naming the field, in both readers alike."""
    path = copy_store("raw")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update({field: value}), crc="update"))
    err = refusal(path)
    assert err.reason == "damaged" and f'field "{field}"' in str(err)


def test_newer_version_and_unknown_codec(copy_store):
    path = copy_store("raw")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(version=2)))  # checksum not updated either
    err = refusal(path)
    assert err.reason == "version" and "format version 2" in str(err)
    path = copy_store("raw")
    edit(path, lambda txn, dbs: set_header(txn, dbs, lambda h: h.update(codec="webp"), crc="update"))
    with pytest.raises(UnknownCodecError) as caught:
        imgstore.open_store(path)
    assert caught.value.codec_id == "webp" and "lz4" in str(caught.value)
    assert ts_dump(path)["error"]["name"] == "UnknownCodecError"


def test_unfinished_store(copy_store):
    path = copy_store("raw")

    def drop(txn, dbs):
        txn.delete(b"header", db=dbs["meta"])
        txn.delete(b"header-crc32", db=dbs["meta"])

    edit(path, drop)
    err = refusal(path)
    assert err.reason == "incomplete" and "did not finish" in str(err)


@pytest.mark.parametrize("case", ["v2", "garbage", "short", "empty-dir", "file", "missing"])
def test_not_a_v1_store(tmp_path, case):
    path = str(tmp_path / "x.lmdb")
    if case not in ("missing", "file"):
        os.mkdir(path)
    page = bytearray(4096)
    if case == "v2":
        struct.pack_into("<II", page, 24, 0xBEEFC0DE, 2)
    elif case == "garbage":
        page[:] = os.urandom(4096)
    if case in ("v2", "garbage"):
        open(os.path.join(path, "data.mdb"), "wb").write(page * 2)
    elif case == "short":
        open(os.path.join(path, "data.mdb"), "wb").write(b"tiny")
    elif case == "file":
        open(path, "wb").write(b"x")
    expected = {"v2": "lmdb-data-format", "missing": "missing"}.get(case, "not-a-store")
    err = refusal(path)
    assert isinstance(err, StoreFormatError) and err.reason == expected and path in str(err)


def test_truncated_data_file_is_refused_not_a_crash(copy_store):
    path = copy_store("raw")
    data_file = os.path.join(path, "data.mdb")
    size = os.path.getsize(data_file)
    os.truncate(data_file, size // 2 // 4096 * 4096)
    # In a child process: were the file mapped, reading past its end would be SIGBUS.
    code = ("import imgstore, sys\n"
            "try:\n    s = imgstore.open_store(sys.argv[1]); [x for x in s]\n"
            "except imgstore.StoreFormatError as e:\n    print(e.reason, e); sys.exit(3)\n")
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    assert done.returncode == 3, (done.returncode, done.stderr)
    assert done.stdout.startswith("damaged") and "truncated" in done.stdout
    assert refusal(path).reason == "damaged"


def test_read_only_copy_opens(copy_store):
    path = copy_store("raw")
    os.chmod(os.path.join(path, "data.mdb"), 0o444)
    os.chmod(path, 0o555)
    try:
        with imgstore.open_store(path) as store:
            assert len(list(store)) == len(store)
    finally:
        os.chmod(path, 0o755)


def test_manifest_cross_checks(make_store, tmp_path):
    import shutil

    src = make_store("sharded")
    dst = tmp_path / "ds"
    shutil.copytree(src, dst)
    manifest_path = dst / "dataset.json"
    original = json.loads(manifest_path.read_text())

    def with_manifest(change):
        m = json.loads(json.dumps(original))
        change(m)
        manifest_path.write_text(json.dumps(m))
        return refusal(str(dst))

    err = with_manifest(lambda m: m["shards"][1].update(createdAt="2020-01-01T00:00:00.000Z"))
    assert err.reason == "shards" and "shard 1" in str(err) and "rebuild the manifest" in str(err)
    assert with_manifest(lambda m: m["shards"][0].update(path="../ds/" + m["shards"][0]["path"])).reason == "shards"
    assert with_manifest(lambda m: m["shards"][2].update(records=1)).reason == "shards"
    assert with_manifest(lambda m: m.update(codec="lz4")).reason == "shards"
    assert with_manifest(lambda m: m.update(version=2)).reason == "version"
    assert with_manifest(lambda m: m.update(shards=[])).reason == "shards"
    shutil.rmtree(dst / original["shards"][1]["path"])
    manifest_path.write_text(json.dumps(original))
    err = refusal(str(dst))  # a shard folder gone
    assert err.reason == "missing" and original["shards"][1]["path"] in str(err)
