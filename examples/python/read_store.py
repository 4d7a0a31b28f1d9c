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


class ImgStore:
    def __init__(self, path):
        self.path = path
        # lock=False: a reader never writes the lock file, so read-only copies of a store open too.
        self.env = lmdb.open(path, readonly=True, lock=False, max_dbs=8, subdir=True)
        self.meta = self.env.open_db(b"meta", create=False)
        self.records = self.env.open_db(b"records", create=False)
        with self.env.begin() as txn:
            raw = txn.get(b"header", db=self.meta)
        if raw is None:
            raise StoreError(f"{path} has no header: its conversion did not finish")
        self.header = msgpack.unpackb(raw, raw=False)
        if self.header.get("format") != "imgstore":
            raise StoreError(f"{path} is not an imgstore store")
        if self.header["version"] > FORMAT_VERSION:
            raise StoreError(f"{path} has format version {self.header['version']}; this reader reads {FORMAT_VERSION}")
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
        (stored,) = struct.unpack_from("<I", value, 0)
        payload = value[4:]
        if zlib.crc32(payload) != stored:
            raise StoreError(f"{self.path}: record {index} failed its checksum")
        if self.header["codec"] == "lz4":
            payload = lz4.block.decompress(payload)  # 4-byte little-endian size prefix, then the block
        return msgpack.unpackb(bytes(payload), raw=False)

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
        image = np.frombuffer(rec["data"], dtype=np.uint8).reshape(rec["shape"])
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
