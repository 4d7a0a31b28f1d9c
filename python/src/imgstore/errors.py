"""Typed errors, the same refusals as the TypeScript reader (`@imgstore/core` errors.ts)."""

STORE_FORMAT_REASONS = ("missing", "not-a-store", "incomplete", "version", "lmdb-data-format", "damaged", "shards")


class ImgstoreError(Exception):
    """Base class of every error this package raises on purpose."""


class StoreFormatError(ImgstoreError):
    """A path is not a store (or dataset) this reader can open; `reason` says which case:

    - ``missing``: nothing at the path
    - ``not-a-store``: not an LMDB environment, or one without imgstore data
    - ``incomplete``: a store whose header was never written (its conversion did not finish)
    - ``version``: written by a newer format version than this reader reads
    - ``lmdb-data-format``: LMDB data format v2 (a default lmdb-js build) where v1 is required
    - ``damaged``: a header or data file that is damaged, truncated, or disagrees with the store
    - ``shards``: a sharded dataset whose shards are missing, changed, or disagree with its manifest
    """

    def __init__(self, path, reason, message):
        if reason not in STORE_FORMAT_REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        super().__init__(message)
        self.path = str(path)
        self.reason = reason


class StoreDamagedError(ImgstoreError):
    """Record `index` of the store at `path` is missing, fails its CRC-32, or does not decode or fit the header."""

    def __init__(self, path, index, message):
        super().__init__(message)
        self.path = str(path)
        self.index = index


class UnknownCodecError(ImgstoreError):
    """The store's header names a codec this reader does not know (or whose optional dependency is missing)."""

    def __init__(self, codec_id, registered, hint=None):
        message = f'Unknown codec "{codec_id}"; registered codecs: {", ".join(registered) or "(none)"}'
        if hint:
            message += f". {hint}"
        super().__init__(message)
        self.codec_id = codec_id
        self.registered = tuple(registered)
