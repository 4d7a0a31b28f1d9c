"""The data-file pre-check of packages/store/src/lmdb-data-format.ts, in plain Python.

liblmdb maps data.mdb and reads pages without bounds checks: a truncated file would kill the process
with SIGBUS, so the meta pages are read with ordinary file reads first and only a v1 file whose newest
meta page points inside the file is handed to lmdb.open.
"""
import os
import struct

LMDB_MAGIC = 0xBEEFC0DE
V1_MAGIC_OFFSET = 16
V2_MAGIC_OFFSET = 24
META_PAGE_SIZE_OFFSET = 40
META_LAST_PAGE_OFFSET = 136
META_TXNID_OFFSET = 144
META_BYTES = 152
MIN_PAGE_SIZE = 512
MAX_PAGE_SIZE = 65536


def _u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def _u64(b, at):
    return struct.unpack_from("<Q", b, at)[0]


def _is_v1_meta(page):
    return _u32(page, V1_MAGIC_OFFSET) == LMDB_MAGIC and _u32(page, V1_MAGIC_OFFSET + 4) == 1


def check_data_file(data_file):
    """Returns (format, damage): format is 'v1', 'v2', 'not-lmdb' or 'unreadable'; damage a reason or None."""
    try:
        f = open(data_file, "rb")
    except OSError:
        return "unreadable", None
    try:
        head = f.read(META_BYTES)
        if len(head) < META_BYTES:
            return "not-lmdb", None
        if _u32(head, V2_MAGIC_OFFSET) == LMDB_MAGIC and _u32(head, V2_MAGIC_OFFSET + 4) == 2:
            return "v2", None
        if not _is_v1_meta(head):
            return "not-lmdb", None
        page_size = _u32(head, META_PAGE_SIZE_OFFSET)
        if page_size < MIN_PAGE_SIZE or page_size > MAX_PAGE_SIZE or page_size & (page_size - 1):
            return "v1", f"its meta page gives an impossible page size ({page_size})"
        f.seek(page_size)
        second = f.read(META_BYTES)
        # The size is taken after the meta pages (a writer only grows the file): no false truncation.
        file_size = os.fstat(f.fileno()).st_size
        if len(second) < META_BYTES or not _is_v1_meta(second):
            return "v1", f"its second meta page is missing or not LMDB (file of {file_size} bytes)"
        newest = second if _u64(second, META_TXNID_OFFSET) > _u64(head, META_TXNID_OFFSET) else head
        needed = (_u64(newest, META_LAST_PAGE_OFFSET) + 1) * page_size
        if needed > file_size:
            return "v1", f"it is truncated: its meta page needs {needed} bytes but the file has {file_size}"
        return "v1", None
    except OSError:
        return "unreadable", None
    finally:
        f.close()
