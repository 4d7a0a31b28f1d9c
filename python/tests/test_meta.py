"""Format 1.1: per-sample metadata and multi-label stores (imgstore convert --labels/--meta) read by this
package as the TypeScript reader reads them, and still read by a reader of format 1.0 as specified."""
import json
import os
import struct
import subprocess
import zlib

import lmdb
import msgpack
import numpy as np
import pytest

import imgstore
from conftest import NODE, REPO, run_cli


def _images(workdir):
    root = workdir / "images"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def labelled(workdir):
    """A CSV-labelled store (names + a caption column) and a multi-label store (JSONL + --meta JSONL)."""
    names = [n for n in _images(workdir) if not n.endswith("broken.jpg")]  # broken.jpg: no row, a reject
    csv_path = workdir / "labels.csv"
    lines = ["path,label,caption"] + [f'{n},{n.split("/")[0][::-1]},"caption of {n}, quoted"' for n in reversed(names)]
    csv_path.write_text("\n".join(lines) + "\n")
    csv_store = str(workdir / "csv-labels.lmdb")
    run_cli("convert", str(workdir / "images"), csv_store, "--size", "16x12", "--labels", str(csv_path), "-q")

    tags = workdir / "tags.jsonl"
    tags.write_text("".join(json.dumps({"path": n, "labels": [n.split("/")[0], "any"] if i % 3 else []}) + "\n"
                            for i, n in enumerate(names)))
    meta = workdir / "meta.jsonl"
    meta.write_text("".join(json.dumps({"path": n, "boxes": [[i, 2.5, 3, 4]], "id": i, "caption": None}) + "\n"
                            for i, n in enumerate(names) if i % 2))
    multi_store = str(workdir / "multi-labels.lmdb")
    run_cli("convert", str(workdir / "images"), multi_store, "--size", "16x12", "--codec", "lz4",
            "--labels", str(tags), "--meta", str(meta), "-q")
    return {"names": names, "csv": csv_store, "multi": multi_store}


def _ts_samples(path):
    """name, label, labels and meta of every sample as the TypeScript reader returns them."""
    script = ("import { openStore } from '@imgstore/store';"
              "const s = openStore(process.argv[1]); const out = [];"
              "for (const x of s) out.push({ name: x.name, label: x.label, labels: x.labels ?? null, meta: x.meta ?? null });"
              "process.stdout.write(JSON.stringify({ header: s.header, samples: out }));")
    done = subprocess.run([NODE, "--input-type=module", "-e", script, path], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_csv_labels_and_metadata_equal_the_typescript_reader(labelled):
    ts = _ts_samples(labelled["csv"])
    with imgstore.open_store(labelled["csv"]) as store:
        assert store.header["minorVersion"] == 1 and "multiLabel" not in store.header
        assert store.label_names == sorted({n.split("/")[0][::-1] for n in labelled["names"]})
        got = [{"name": s.name, "label": s.label, "labels": s.labels, "meta": s.meta} for s in store]
        assert [r["name"] for r in store.rejects()] == ["sky/broken.jpg"]
    assert got == ts["samples"]
    for sample in got:
        assert sample["meta"] == {"caption": f"caption of {sample['name']}, quoted"}
        assert store.label_names[sample["label"]] == sample["name"].split("/")[0][::-1]


def test_multi_label_and_meta_file_equal_the_typescript_reader(labelled):
    ts = _ts_samples(labelled["multi"])
    names = labelled["names"]
    with imgstore.open_store(labelled["multi"]) as store:
        assert store.header["multiLabel"] is True and "labelCounts" not in store.header
        label_names = store.label_names
        got = [{"name": s.name, "label": s.label, "labels": s.labels, "meta": s.meta} for s in store]
    assert got == ts["samples"]
    for sample in got:
        i = names.index(sample["name"])
        expected = sorted({sample["name"].split("/")[0], "any"}) if i % 3 else []
        assert sample["label"] is None and [label_names[k] for k in sample["labels"]] == expected
        assert sample["meta"] == ({"boxes": [[i, 2.5, 3, 4]], "id": i, "caption": None} if i % 2 else None)


def read_as_format_1_0(path):
    """A reader of format 1.0 as FORMAT.md specified it (before 1.1 existed): header format and version,
    CRC-32, raw/lz4 payload, the record's five keys (unknown keys ignored), label within labelNames,
    labelCounts summing to count. Returns (name, label, pixels) per record."""
    env = lmdb.open(path, readonly=True, lock=False, max_dbs=8, subdir=True)
    try:
        with env.begin() as txn:
            header = msgpack.unpackb(txn.get(b"header", db=env.open_db(b"meta", txn=txn, create=False)), raw=False)
            assert header["format"] == "imgstore" and header["version"] <= 1
            if "labelCounts" in header:
                assert sum(header["labelCounts"]) == header["count"]
            records = env.open_db(b"records", txn=txn, create=False)
            out = []
            for i in range(header["count"]):
                value = txn.get(struct.pack(">I", i), db=records)
                payload = value[4:]
                assert struct.unpack_from("<I", value, 0)[0] == zlib.crc32(payload)
                if header["codec"] == "lz4":
                    import lz4.block
                    payload = lz4.block.decompress(payload)
                record = msgpack.unpackb(payload, raw=False)
                label = record["label"]
                assert label is None or 0 <= label < len(header["labelNames"] or ())
                out.append((record["name"], label, np.frombuffer(record["data"], np.uint8).reshape(record["shape"])))
            return out
    finally:
        env.close()


@pytest.mark.parametrize("kind", ["csv", "multi"])
def test_a_format_1_0_reader_still_reads_a_1_1_store(labelled, kind):
    """Minor version: a 1.0 reader reads names, single labels and pixels the same, ignoring meta; in a
    multi-label store it sees unlabeled samples (label None), as FORMAT.md section 7 says."""
    old = read_as_format_1_0(labelled[kind])
    with imgstore.open_store(labelled[kind]) as store:
        assert len(old) == len(store)
        for (name, label, pixels), sample in zip(old, store):
            assert name == sample.name and label == sample.label and np.array_equal(pixels, sample.data)
            if kind == "multi":
                assert label is None and sample.labels is not None
