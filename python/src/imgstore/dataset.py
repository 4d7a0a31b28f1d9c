"""Sharded datasets (FORMAT.md "Sharded datasets"; packages/store/src/sharded-dataset.ts in Python)."""
import bisect
import json
import os

from .errors import StoreFormatError
from .store import Store, checked_index

MANIFEST_FILE = "dataset.json"
MANIFEST_FORMAT = "imgstore-dataset"
MANIFEST_VERSION = 1


def read_manifest(path):
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError) as error:
        raise StoreFormatError(path, "not-a-store", f"Cannot read dataset manifest {path}: {error}") from None
    if not isinstance(value, dict) or value.get("format") != MANIFEST_FORMAT:
        raise StoreFormatError(path, "not-a-store", f"{path} is not an imgstore dataset manifest")
    version = value.get("version")
    if type(version) not in (int, float) or version > MANIFEST_VERSION:
        raise StoreFormatError(path, "version",
                               f"Dataset manifest {path} has version {version}; this reader reads {MANIFEST_VERSION}")
    if not isinstance(value.get("shards"), list) or not value["shards"]:
        raise StoreFormatError(path, "shards", f"Dataset manifest {path} lists no shards")
    return value


class Dataset:
    """Use open_dataset(). One or more stores read as one sequence of Sample with a global index:
    shard k's record j is index offsets[k] + j. `shards` are the Store objects, `manifest` the parsed
    dataset.json (None for a single store)."""

    def __init__(self, path, shards, manifest=None):
        self.path = path
        self.shards = shards
        self.manifest = manifest
        self.offsets = [0]
        for s in shards:
            self.offsets.append(self.offsets[-1] + len(s))
        first = shards[0].header
        self.header = first if len(shards) == 1 else None
        self.sample_shape = list(first["shape"])
        self.codec = first["codec"]
        self.label_names = first["labelNames"]

    def __len__(self):
        return self.offsets[-1]

    def locate(self, index):
        """(shard number, index in that shard) of global `index` (negative: from the end)."""
        index = checked_index(index, self.offsets[-1], "dataset")
        k = bisect.bisect_right(self.offsets, index) - 1
        return k, index - self.offsets[k]

    def get(self, index):
        k, local = self.locate(index)
        sample = self.shards[k].get(local)
        sample.index = self.offsets[k] + local
        return sample

    def read_pixels(self, index, chw=False, out=None):
        """(pixels, label) of record `index` with every check of get(), without building a Sample: the
        pixels a uint8 array that owns its memory, C×H×W (C-contiguous) when `chw`, else H×W×C; written
        into `out` when given (fixed-size datasets: an array of the sample shape in that layout)."""
        k, local = self.locate(index)
        fields, pixels = self.shards[k]._read(local, chw, out)
        return pixels, fields["label"]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.get(i) for i in range(*index.indices(len(self)))]
        return self.get(index)

    def __iter__(self):
        for i in range(len(self)):
            yield self.get(i)

    def rejects(self):
        """Rejected inputs of every shard, in shard order."""
        return [r for s in self.shards for r in s.rejects()]

    def close(self):
        for s in self.shards:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Dataset({self.path!r}, shards={len(self.shards)}, count={len(self)})"


def _open_shard(manifest_path, manifest, entry, verify):
    index = entry.get("index") if isinstance(entry, dict) else None
    name = entry.get("path") if isinstance(entry, dict) else None

    def fail(what):
        return StoreFormatError(manifest_path, "shards", f"Dataset {manifest_path}: shard {index} ({name}) {what}")

    # Shard paths are plain folder names next to the manifest: never anything that leaves its folder.
    if (type(name) is not str or not name or os.path.basename(name) != name or name in (".", "..")
            or "/" in name or "\\" in name):
        raise fail("has a path that is not a folder name next to the manifest")
    store = Store(os.path.join(os.path.dirname(manifest_path), name), verify=verify)
    h = store.header
    created = h["provenance"]["createdAt"]
    problems = [p for p in (
        h["count"] != entry.get("records") and f"has {h['count']} records, the manifest says {entry.get('records')}",
        created != entry.get("createdAt") and f"was written at {created}, not at {entry.get('createdAt')} as the "
                                              "manifest says (converted again? rebuild the manifest)",
        h["shape"] != manifest.get("shape") and f"has shape {h['shape']}, the dataset {manifest.get('shape')}",
        h["codec"] != manifest.get("codec") and f"has codec {h['codec']}, the dataset {manifest.get('codec')}",
        h["labelNames"] != manifest.get("labelNames") and "has other label names than the dataset",
    ) if p]
    if problems:
        store.close()
        raise fail("; ".join(problems))
    return store


def open_dataset(path, verify="always"):
    """Opens a dataset: a sharded one from its manifest (dataset.json, or the folder holding it), or a
    single store folder. Shards that disagree with the manifest are refused (StoreFormatError 'shards')."""
    path = os.fspath(path)
    if os.path.isdir(path) and not os.path.exists(os.path.join(path, MANIFEST_FILE)):
        return Dataset(path, [Store(path, verify=verify)])
    manifest_path = os.path.join(path, MANIFEST_FILE) if os.path.isdir(path) else path
    if not os.path.exists(manifest_path):
        raise StoreFormatError(path, "missing", f"No dataset at {path}: nothing exists there")
    manifest = read_manifest(manifest_path)
    shards = []
    try:
        for entry in manifest["shards"]:
            shards.append(_open_shard(manifest_path, manifest, entry, verify))
    except BaseException:
        for s in shards:
            s.close()
        raise
    return Dataset(manifest_path, shards, manifest)
