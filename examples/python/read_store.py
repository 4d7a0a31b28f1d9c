#!/usr/bin/env python3
"""Read an imgstore store (FORMAT.md, version 1) from Python.

Needs only Debian's python3-lmdb, python3-msgpack, python3-lz4 and python3-numpy (and python3-pil for
stores written with the jpeg codec):

    apt-get install python3-lmdb python3-msgpack python3-lz4 python3-numpy python3-pil
    /usr/bin/python3 examples/python/read_store.py ./train.lmdb            # header and first samples
    /usr/bin/python3 examples/python/read_store.py ./train.lmdb --digests  # one JSON line per record
    /usr/bin/python3 examples/python/read_store.py ./train.lmdb --pixels   # the same, with base64 pixels

As a library:

    from read_store import ImgStore
    with ImgStore("train.lmdb") as store:
        image, label, name = store[0]   # image: numpy uint8 array (H, W, 3)
"""
import base64
import hashlib
import json
import struct
import sys
import zlib

import lmdb
import lz4.block
import msgpack
import numpy as np

FORMAT_VERSION = 1


class StoreError(Exception):
    """The path is not a readable imgstore store, or a record is damaged."""


def check_header(path, header, entries):
    """The fields this reader uses, checked before they size anything (FORMAT.md section 5)."""
    def bad(field, expected):
        return StoreError(f"{path} has a damaged header: field {field!r} must be {expected}, found {header.get(field)!r}")

    def is_int(value, low, high):
        return type(value) is int and low <= value <= high

    if type(header.get("codec")) is not str:
        raise bad("codec", "a string")
    if not is_int(header.get("count"), 0, 2**32 - 1):
        raise bad("count", "an integer from 0 to 2**32 - 1")
    if not entries <= header["count"] <= entries + max(16, entries // 100):
        raise StoreError(f"{path} has a damaged header: field 'count' says {header['count']} but the store holds {entries} records")
    shape = header.get("shape")
    if not (isinstance(shape, list) and len(shape) == 3 and is_int(shape[0], 0, 65535) and is_int(shape[1], 0, 65535)
            and is_int(shape[2], 1, 4) and (shape[0] == 0) == (shape[1] == 0) and shape[0] * shape[1] * shape[2] <= 2**30):
        raise bad("shape", "[height, width, channels] of at most 1 GiB")
    if shape[0] == 0 and not is_int(header.get("maxSampleBytes"), 1, 2**30):
        raise bad("maxSampleBytes", "an integer from 1 to 2**30")
    names = header.get("labelNames")
    if names is not None and not (isinstance(names, list) and all(type(n) is str for n in names)):
        raise bad("labelNames", "a list of strings, or nil")


def header_count(raw):
    try:
        count = msgpack.unpackb(bytes(raw), raw=False)["count"]
    except Exception:
        return None
    return count if type(count) is int else None


class ImgStore:
    def __init__(self, path):
        self.path = path
        # lock=False: a reader never writes the lock file, so read-only copies of a store open too.
        self.env = lmdb.open(path, readonly=True, lock=False, max_dbs=8, subdir=True)
        self.meta = self.env.open_db(b"meta", create=False)
        self.records = self.env.open_db(b"records", create=False)
        with self.env.begin() as txn:
            raw = txn.get(b"header", db=self.meta)
            crc = txn.get(b"header-crc32", db=self.meta)  # absent in stores written before it
            entries = txn.stat(self.records)["entries"]
            # An append under way (or killed) owns the records past the header's count: read the store as it was.
            if txn.get(b"append", db=self.meta) is not None and header_count(raw) is not None:
                entries = min(entries, header_count(raw))
        if raw is None:
            raise StoreError(f"{path} has no header: its conversion did not finish")
        try:
            header = msgpack.unpackb(raw, raw=False)
        except Exception as error:
            raise StoreError(f"{path} has an unreadable header: {error}") from None
        if not isinstance(header, dict) or header.get("format") != "imgstore":
            raise StoreError(f"{path} is not an imgstore store")
        version = header.get("version")
        if type(version) is int and version > FORMAT_VERSION:
            raise StoreError(f"{path} has format version {version}; this reader reads {FORMAT_VERSION}")
        if crc is not None and (len(crc) != 4 or struct.unpack("<I", crc)[0] != zlib.crc32(raw)):
            raise StoreError(f"{path} has a damaged header: checksum mismatch")
        self.header = header
        check_header(path, header, entries)
        if self.header["codec"] not in ("lz4", "raw", "jpeg"):
            raise StoreError(f"{path} uses codec {self.header['codec']!r}; this reader knows lz4, raw and jpeg")
        self.txn = self.env.begin(buffers=True)

    def __len__(self):
        return self.header["count"]

    def record(self, index):
        """The decoded msgpack record of `index`: {name, label, shape, dtype, data}."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        value = self.txn.get(struct.pack(">I", index), db=self.records)
        if value is None:
            raise StoreError(f"{self.path}: record {index} is missing")
        if len(value) < 4:
            raise StoreError(f"{self.path}: record {index} is shorter than its checksum")
        (stored,) = struct.unpack_from("<I", value, 0)
        payload = value[4:]
        if zlib.crc32(payload) != stored:
            raise StoreError(f"{self.path}: record {index} failed its checksum")
        try:
            if self.header["codec"] == "lz4":
                payload = lz4.block.decompress(payload)  # 4-byte little-endian size prefix, then the block
            record = msgpack.unpackb(bytes(payload), raw=False)
        except Exception as error:
            raise StoreError(f"{self.path}: record {index} passed its checksum but does not decode: {error}") from None
        if not isinstance(record, dict):
            raise StoreError(f"{self.path}: record {index} is not a msgpack map")
        return record

    def __getitem__(self, index):
        rec = self.record(index)
        if "jpeg" in rec:  # the jpeg codec: a plain JPEG file instead of raw pixels
            import io
            from PIL import Image

            image = np.asarray(Image.open(io.BytesIO(rec["jpeg"])))
            if image.ndim == 2:
                image = image[:, :, None]
            if list(image.shape) != list(rec["shape"]):
                raise StoreError(f"{self.path}: record {index} holds a {image.shape} JPEG, its shape says {rec['shape']}")
            return image, rec["label"], rec["name"]
        shape, data, want = rec.get("shape"), rec.get("data"), self.header["shape"]
        if not (isinstance(shape, list) and len(shape) == 3 and all(type(n) is int and n > 0 for n in shape)
                and (shape == want or (want[0] == 0 and shape[2] == want[2]))
                and isinstance(data, bytes) and len(data) == shape[0] * shape[1] * shape[2]):
            raise StoreError(f"{self.path}: record {index} has shape {shape!r}, which disagrees with its pixels or the header")
        image = np.frombuffer(data, dtype=np.uint8).reshape(shape)
        return image, rec["label"], rec["name"]

    def close(self):
        self.txn.abort()
        self.env.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    try:
        return read(argv)
    except (StoreError, lmdb.Error) as error:
        print(f"read_store.py: {error}", file=sys.stderr)
        return 1


def read(argv):
    with ImgStore(argv[1]) as store:
        if "--digests" in argv or "--pixels" in argv:
            for i in range(len(store)):
                image, label, name = store[i]
                line = {"index": i, "name": name, "label": label, "shape": list(image.shape),
                        "sha256": hashlib.sha256(image.tobytes()).hexdigest()}
                if "--pixels" in argv:
                    line["pixels"] = base64.b64encode(image.tobytes()).decode("ascii")
                print(json.dumps(line))
            return 0
        print(json.dumps(store.header, indent=2))
        for i in range(min(3, len(store))):
            image, label, name = store[i]
            print(f"{i}: {name} label={label} shape={image.shape} mean={image.mean():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
