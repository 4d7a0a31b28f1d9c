"""A finished imgstore store opened read-only (packages/store/src/store-reader.ts in Python)."""
import os
import struct
import zlib

import lmdb
import numpy as np

from . import _codecs
from ._crc import crc32
from ._datafile import check_data_file
from ._header import (check_header_fields, missing_record_allowance, parse_header_map, sample_limit,
                      unpack_plain)
from .errors import StoreDamagedError, StoreFormatError

VERIFY_MODES = ("always", "once")
HEADER_KEY = b"header"
HEADER_CRC_KEY = b"header-crc32"

# Environments inherited across fork: never used or closed in the child (LMDB forbids using an
# environment across fork), only kept referenced so that the child does not unmap them.
_inherited = []

# os.getpid() is a system call (~5 us on some VMs) and every read checks for a fork: the id is cached,
# and refreshed in a child forked by os.fork (multiprocessing, DataLoader workers).
_process_id = os.getpid()


def _refresh_process_id():
    global _process_id
    _process_id = os.getpid()


if hasattr(os, "register_at_fork"):  # without it (Windows) there is no fork
    os.register_at_fork(after_in_child=_refresh_process_id)

_pack_key = struct.Struct(">I").pack
_unpack_crc = struct.Struct("<I").unpack_from


def checked_index(index, n, what):
    """`index` (any integer-like, negative: from the end) as 0..n-1 of a sequence of n records, else IndexError."""
    if type(index) is not int:
        index = int(index.__index__())
    if index < 0:
        index += n
    if not 0 <= index < n:
        raise IndexError(f"index out of range for a {what} of {n} records")
    return index


class Sample:
    """One record: `index`, `name`, `label` (int or None), `shape` (tuple H, W, C), `data` (numpy uint8
    H×W×C, owned by the sample and writable); format 1.1: `meta` (the sample's metadata, any JSON-like
    value, or None) and `labels` (multi-label stores: a list of label indices, else None); `extra` (a dict
    of the record's keys this reader does not know, or None)."""

    __slots__ = ("index", "name", "label", "shape", "data", "meta", "labels", "extra")

    def __init__(self, index, name, label, shape, data, meta=None, labels=None, extra=None):
        self.index, self.name, self.label, self.shape, self.data = index, name, label, shape, data
        self.meta, self.labels, self.extra = meta, labels, extra

    def __repr__(self):
        return f"Sample(index={self.index}, name={self.name!r}, label={self.label}, shape={self.shape})"


# Record keys a Sample has an attribute for (format 1.1); others go to Sample.extra.
_KNOWN_FIELDS = ("name", "label", "shape", "dtype", "meta", "labels")


def _hex(n):
    return f"0x{n:08x}"


def _check_path(path):
    if not os.path.exists(path):
        raise StoreFormatError(path, "missing", f"No store at {path}: nothing exists there")
    if not os.path.isdir(path):
        raise StoreFormatError(path, "not-a-store", f"{path} is a file; an imgstore store is a folder holding data.mdb")
    data_file = os.path.join(path, "data.mdb")
    if not os.path.exists(data_file):
        raise StoreFormatError(path, "not-a-store", f"{path} is not an imgstore store: it has no data.mdb")
    fmt, damage = check_data_file(data_file)
    if fmt == "v1":
        if damage:
            raise StoreFormatError(path, "damaged", f"Store {path} is damaged and was not opened: data.mdb {damage}")
    elif fmt == "v2":
        raise StoreFormatError(path, "lmdb-data-format",
                               f"Store {path} uses LMDB data format v2 (written by a default lmdb-js build); "
                               "imgstore stores use the standard data format v1")
    elif fmt == "unreadable":
        raise StoreFormatError(path, "not-a-store", f"Cannot read {data_file}")
    else:
        raise StoreFormatError(path, "not-a-store", f"{path} is not an imgstore store: data.mdb is not an LMDB file")


class Store:
    """Use open_store(). A sequence of Sample: len(store), store[i] (negative i counts from the end),
    iteration in index order. `header` is the checked header map, `rejects()` the rejected inputs.

    The LMDB environment and one read transaction are opened per process: after fork (DataLoader
    workers) the first read in the child opens its own; pickling (spawn) carries only the path and
    options. Reads are not thread-safe: use one Store per thread.
    """

    def __init__(self, path, verify="always"):
        if verify not in VERIFY_MODES:
            raise ValueError(f"verify must be one of {VERIFY_MODES}, got {verify!r}")
        self.path = os.fspath(path)
        self.verify = verify
        self._env = self._txn = None
        self._pid = None
        self._header_bytes = None
        self._verified = None
        self._open()
        self._verified = bytearray(self.header["count"]) if verify == "once" else None

    # -- opening --------------------------------------------------------------------------------
    def _open(self):
        path = self.path
        _check_path(path)
        try:
            env = lmdb.open(path, readonly=True, lock=False, max_dbs=8, subdir=True, readahead=False, meminit=False)
        except lmdb.Error as error:
            raise StoreFormatError(path, "not-a-store", f"{path} is not an imgstore store: LMDB cannot open it ({error})") from None
        try:
            try:
                self._meta_db = env.open_db(b"meta", create=False)
            except lmdb.NotFoundError:
                raise StoreFormatError(path, "not-a-store", f"{path} is an LMDB environment but not an imgstore store") from None
            self._records_db = self._optional_db(env, b"records")
            self._rejects_db = self._optional_db(env, b"rejects")
            txn = env.begin(buffers=True)
            try:
                raw = txn.get(HEADER_KEY, db=self._meta_db)
                if raw is None:
                    self._refuse_headerless(txn)
                raw = bytes(raw)
                if self._header_bytes is None:
                    self.header = self._read_header(txn, raw)
                    self.codec = self.header["codec"]
                    self._decode = _codecs.resolve(self.codec)
                    self._limit = sample_limit(self.header)
                    shape = self.header["shape"]
                    self._fixed = None if shape[0] == 0 else shape[0] * shape[1] * shape[2]
                    self._shape = shape
                    self._label_names = self.header["labelNames"]
                    self._header_bytes = raw
                elif raw != self._header_bytes:
                    raise StoreFormatError(path, "damaged", f"Store {path} changed since it was opened: its header differs")
            except BaseException:
                txn.abort()
                raise
        except lmdb.Error as error:
            env.close()
            raise StoreFormatError(path, "damaged", f"Store {path} is damaged: LMDB cannot read its databases ({error})") from None
        except BaseException:
            env.close()
            raise
        self._env, self._txn, self._pid = env, txn, _process_id

    @staticmethod
    def _optional_db(env, name):
        try:
            return env.open_db(name, create=False)
        except lmdb.NotFoundError:
            return None

    def _refuse_headerless(self, txn):
        path = self.path
        settings = txn.get(b"settings", db=self._meta_db)
        if settings is None:
            raise StoreFormatError(path, "not-a-store", f"{path} is an LMDB environment but not an imgstore store")
        records = "?"
        checkpoint = txn.get(b"checkpoint", db=self._meta_db)
        try:
            if checkpoint is not None:
                records = unpack_plain(bytes(checkpoint)).get("records", "?")
        except Exception:
            pass
        raise StoreFormatError(path, "incomplete",
                               f"Store {path} has no header: its conversion did not finish ({records} records committed). "
                               "Resume the conversion to read it.")

    def _entries(self, txn, db):
        return 0 if db is None else txn.stat(db)["entries"]

    def _read_header(self, txn, raw):
        path = self.path

        def damaged(message):
            return StoreFormatError(path, "damaged", f"Store {path} has a damaged header: {message}")

        stored = txn.get(HEADER_CRC_KEY, db=self._meta_db)
        mismatch = None
        if stored is not None:
            actual = zlib.crc32(raw)
            if len(stored) != 4:
                mismatch = f"its checksum (meta/header-crc32) has {len(stored)} bytes, not 4"
            else:
                expected = struct.unpack("<I", stored)[0]
                if expected != actual:
                    mismatch = (f"checksum mismatch (stored {_hex(expected)}, computed {_hex(actual)} "
                                f"over its {len(raw)} bytes)")
        try:
            header = parse_header_map(path, raw)
        except StoreFormatError as error:
            if mismatch is None or error.reason == "version":
                raise
            raise damaged(mismatch) from None
        if mismatch is not None:
            raise damaged(mismatch)
        check_header_fields(path, header)

        def says(field, value, holds):
            return damaged(f'field "{field}" says {value!r} but the store holds {holds}')

        records = self._entries(txn, self._records_db)
        rejects = self._entries(txn, self._rejects_db)
        count = header["count"]
        # meta/append: an append is under way or was killed; records and rejects past the header's are its own.
        appending = txn.get(b"append", db=self._meta_db) is not None
        if (count < records and not appending) or count > records + missing_record_allowance(records):
            raise says("count", count, f"{records} records")
        if header["rejected"] > rejects if appending else header["rejected"] != rejects:
            raise says("rejected", header["rejected"], f"{rejects} rejects")
        if "labelCounts" in header and sum(header["labelCounts"]) != count:
            raise damaged(f'field "labelCounts" sums to {sum(header["labelCounts"])} but field "count" says {count}')
        self._check_shape_witnesses(txn, header, says)
        return header

    def _check_shape_witnesses(self, txn, header, says):
        """The first and last records witness the sample shape: when every intact one disagrees, the header is wrong."""
        if header["count"] == 0 or header["codec"] not in _codecs.BUILTIN:
            return  # an unknown codec is reported after the header checks
        try:
            decode = _codecs.resolve(header["codec"])
        except Exception:
            return
        shape = header["shape"]
        variable = shape[0] == 0
        limit = sample_limit(header)
        fixed = None if variable else shape[0] * shape[1] * shape[2]
        witnesses = []
        for index in sorted({0, header["count"] - 1}):
            value = txn.get(struct.pack(">I", index), db=self._records_db) if self._records_db is not None else None
            if value is None or len(value) < 4 or zlib.crc32(value[4:]) != struct.unpack_from("<I", value, 0)[0]:
                continue
            try:
                witnesses.append((index, decode(value[4:], limit, None)[0]["shape"]))
            except Exception:
                continue
        if not witnesses:
            return

        def fits(s):
            n = s[0] * s[1] * s[2]
            return s[2] == shape[2] and n <= header["maxSampleBytes"] if variable else s == shape

        if any(fits(s) for _, s in witnesses):
            return
        held = " and ".join(f"record {i} of shape {s} ({s[0] * s[1] * s[2]} bytes)" for i, s in witnesses)
        if variable and all(s[2] == shape[2] for _, s in witnesses):
            raise says("maxSampleBytes", header["maxSampleBytes"], held)
        raise says("shape", shape, held)

    def _reopen_after_fork(self):
        if self._env is not None:
            _inherited.append(self._env)  # the parent's: neither used nor closed here
        self._env = self._txn = None
        self._open()

    # -- reading --------------------------------------------------------------------------------
    def __len__(self):
        return self.header["count"]

    def _index(self, index):
        return checked_index(index, self.header["count"], "store")

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.get(i) for i in range(*index.indices(len(self)))]
        return self.get(index)

    def get(self, index):
        """Reads, checks (CRC-32, shape, label) and decodes record `index` (negative: from the end)."""
        index = self._index(index)
        fields, pixels = self._read(index, False)
        extra = {k: v for k, v in fields.items() if k not in _KNOWN_FIELDS} or None
        return Sample(index, fields["name"], fields["label"], tuple(fields["shape"]), pixels,
                      fields.get("meta"), fields.get("labels"), extra)

    def _read(self, index, chw, out=None):
        """(fields, pixels) of record `index` (in range), after every check of get(). `chw`: the pixels
        are a C×H×W array (copied out of the map once, in that order) instead of H×W×C. `out` (fixed-size
        stores: a uint8 array of the header's shape in that layout): the pixels are written there."""
        if self._pid != _process_id:
            self._reopen_after_fork()
        txn = self._txn
        if txn is None:
            raise ValueError(f"Store {self.path} is closed")
        key = _pack_key(index)
        try:
            value = txn.get(key, db=self._records_db) if self._records_db is not None else None
        except lmdb.Error as error:
            raise self._damaged(index, key, f"cannot be read: LMDB says {error}") from None
        if value is None:
            raise StoreDamagedError(self.path, index, f"Store {self.path} has no record {index} (key {key.hex()}) "
                                    f"although its header counts {self.header['count']}")
        # `value` is a memoryview into LMDB's map, valid only while the read transaction lives:
        # it is checked and decoded here, and nothing returned refers to it.
        if len(value) < 4:
            raise self._damaged(index, key, f"is damaged: value has {len(value)} bytes, fewer than the 4-byte checksum")
        payload = value[4:]
        verified = self._verified
        if verified is None or not verified[index]:
            stored = _unpack_crc(value, 0)[0]
            actual = crc32(payload)
            if stored != actual:
                raise self._damaged(index, key, f"is damaged: checksum mismatch (stored {_hex(stored)}, computed {_hex(actual)})")
        try:
            fields, pixels = self._decode(payload, self._limit, self._fixed, chw, out)
        except _codecs.DecodeFailed as error:
            raise self._damaged(index, key, f"passed its checksum but does not decode: Cannot decode record: {error}") from None
        shape, label = fields["shape"], fields["label"]
        expected = self._shape
        if self._fixed is None:
            if shape[2] != expected[2]:
                raise self._damaged(index, key, f"has {shape[2]} channels but the header says {expected[2]}")
            if pixels.size > self.header["maxSampleBytes"]:
                raise self._damaged(index, key, f"has shape {shape}, {pixels.size} bytes, more than the header's "
                                    f"maxSampleBytes {self.header['maxSampleBytes']}")
        elif shape != expected:
            raise self._damaged(index, key, f"has shape {shape} but the header says {expected}")
        names = self._label_names
        if names is not None and label is not None and label >= len(names):
            raise self._damaged(index, key, f"has label {label} but the header names only {len(names)} labels")
        many = fields.get("labels")
        if many is not None and any(n >= len(names or ()) for n in many):
            raise self._damaged(index, key, f"has labels {many} but the header names only {len(names or ())} labels")
        if out is not None and pixels is not out:  # a decoder that made its own array (same shape: checked)
            np.copyto(out, pixels)
            pixels = out
        if verified is not None:
            verified[index] = 1
        return fields, pixels

    def _damaged(self, index, key, what):
        return StoreDamagedError(self.path, index, f"Store {self.path} record {index} (key {key.hex()}) {what}")

    def __iter__(self):
        for i in range(len(self)):
            yield self.get(i)

    def rejects(self):
        """Inputs the conversion rejected: a list of {"name", "reason"} in the order they were met."""
        if self._pid != _process_id:
            self._reopen_after_fork()
        out = []
        if self._rejects_db is None:
            return out
        with self._env.begin(buffers=False) as txn:
            for _, value in txn.cursor(db=self._rejects_db):
                r = unpack_plain(value)
                out.append({"name": str(r.get("name")), "reason": str(r.get("reason"))})
        return out

    @property
    def label_names(self):
        return self.header["labelNames"]

    @property
    def sample_shape(self):
        """[height, width, channels]; [0, 0, channels] in a variable-size store."""
        return list(self.header["shape"])

    # -- lifetime -------------------------------------------------------------------------------
    def close(self):
        """Ends the read transaction and closes the environment (in this process). Idempotent."""
        if self._env is not None and self._pid == _process_id:
            self._txn.abort()
            self._env.close()
        self._env = self._txn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_env", "_txn", "_meta_db", "_records_db",
                                                                      "_rejects_db", "_decode")}
        state["_pid"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._env = self._txn = None
        self._decode = _codecs.resolve(self.codec)  # reopened on first read in this process

    def __repr__(self):
        return f"Store({self.path!r}, count={len(self)}, shape={self.header['shape']}, codec={self.codec!r})"


def open_store(path, verify="always"):
    """Opens a finished store read-only. verify="always" checks every record's CRC-32 on every read;
    "once" on the first read of each record in this process (later epochs read at copy speed)."""
    return Store(path, verify=verify)
