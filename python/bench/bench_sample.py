#!/usr/bin/env python3
"""Per-sample costs in fresh processes: CPU µs and page faults (ru_minflt) per sample of a
DataLoader(batch_size=64, shuffle=True, num_workers=0) epoch, and of its parts (the dataset's
__getitem__, the CRC-32, default_collate), for each configuration in alternating rounds.

    PYTHONPATH=python/src python3 python/bench/bench_sample.py --store CORPUS.lmdb \\
        [--ref-dir ../shared/bench/python --ref-store REF.lmdb] [--rounds 5]

Configurations: layout CHW / HWC, de-interleave by libyuv / numpy (IMGSTORE_PLANAR=numpy), glibc malloc
thresholds set by imgstore.torch / left alone (IMGSTORE_MALLOPT=0); the seed's loader (ref_load.py) with
and without the same thresholds (set through the MALLOC_* environment, as imgstore.torch's mallopt does
not run there). Each configuration runs in a new process per round (malloc's state depends on the
process's history): one untimed epoch, then two timed ones, then the parts.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time

FIXED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "134217728"}


def child(args):
    import random
    import resource
    import warnings

    import torch
    from torch.utils.data import DataLoader, default_collate

    warnings.simplefilter("ignore")
    torch.manual_seed(0)

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    out = {}
    if args.child == "seed":
        sys.path.insert(0, args.ref_dir)
        import ref_load
        ds = ref_load.SafeDataset(ref_load.LMDBDataset(args.ref_store))
        out["malloc"] = "env" if os.environ.get("MALLOC_TRIM_THRESHOLD_") else "default"
    else:
        import imgstore._crc as crc
        import imgstore._planar as planar
        import imgstore.torch as it
        ds = it.ImgstoreDataset(args.store, layout=args.child)
        out.update(malloc=it.malloc_tuning, planar=planar.implementation)
    # The loader first, as a training process would: malloc's state depends on what ran before.
    order = list(range(len(ds)))
    random.Random(0).shuffle(order)
    loader = DataLoader(ds, batch_size=64, shuffle=True, num_workers=0)
    for _ in loader:  # warm-up: page cache, first touch
        pass
    runs = []
    for _ in range(2):
        f, t = faults(), time.process_time()
        m = sum(len(b[0]) if isinstance(b, (list, tuple)) else len(b) for b in loader)
        runs.append(((time.process_time() - t) / m * 1e6, (faults() - f) / m))
    out["loader_us"] = statistics.median(r[0] for r in runs)
    out["loader_faults"] = statistics.median(r[1] for r in runs)
    f, t = faults(), time.process_time()
    for k in range(0, 640, 64):  # 64 samples alive at a time, as in a batch
        items = [ds[i] for i in order[k:k + 64]]
    del items
    out["getitem_us"] = (time.process_time() - t) / 640 * 1e6
    out["getitem_faults"] = (faults() - f) / 640
    batches = [[ds[i] for i in order[k:k + 64]] for k in range(0, 640, 64)]
    f, t = faults(), time.process_time()
    for b in batches:
        default_collate(b)
    out["collate_us"] = (time.process_time() - t) / 640 * 1e6
    out["collate_faults"] = (faults() - f) / 640
    del batches
    if args.child != "seed":
        store = ds.dataset.shards[0]
        with store._env.begin(db=store._records_db, buffers=True) as txn:
            payloads = [txn.get(struct.pack(">I", i))[4:] for i in order[:400]]
            t = time.process_time()
            for p in payloads:
                crc.crc32(p)
            out["crc_us"] = (time.process_time() - t) / len(payloads) * 1e6
            del payloads
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--ref-dir")
    ap.add_argument("--ref-store")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        return child(args)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k not in ("IMGSTORE_PLANAR", "IMGSTORE_MALLOPT")}
    configs = {
        "CHW libyuv mallopt": ("CHW", {}),
        "CHW numpy mallopt": ("CHW", {"IMGSTORE_PLANAR": "numpy"}),
        "CHW libyuv default-malloc": ("CHW", {"IMGSTORE_MALLOPT": "0"}),
        "HWC mallopt": ("HWC", {}),
        "HWC default-malloc": ("HWC", {"IMGSTORE_MALLOPT": "0"}),
    }
    if args.ref_dir and args.ref_store:
        configs["seed fixed-malloc"] = ("seed", FIXED_MALLOC)
        configs["seed default-malloc"] = ("seed", {})
    results = {}
    for r in range(args.rounds):
        names = list(configs) if r % 2 == 0 else list(reversed(configs))
        for name in names:
            kind, env = configs[name]
            cmd = [sys.executable, __file__, "--store", args.store, "--child", kind]
            if args.ref_dir:
                cmd += ["--ref-dir", args.ref_dir, "--ref-store", args.ref_store]
            done = subprocess.run(cmd, capture_output=True, text=True, env={**base, **env})
            if done.returncode != 0:
                sys.exit(done.stderr)
            value = json.loads(done.stdout.strip().splitlines()[-1])
            results.setdefault(name, []).append(value)
            print(json.dumps({"round": r, "config": name, **{k: (round(v, 1) if isinstance(v, float) else v)
                                                             for k, v in value.items()}}), flush=True)
    keys = ("loader_us", "loader_faults", "getitem_us", "getitem_faults", "collate_us", "collate_faults", "crc_us")
    print(f"\nmedian (range) over {args.rounds} fresh processes, CPU µs and page faults per sample")
    print(f"{'config':28}" + "".join(f"{k:>20}" for k in keys))
    for name, values in results.items():
        cells = []
        for k in keys:
            xs = [v[k] for v in values if k in v]
            cells.append(f"{statistics.median(xs):.0f} ({min(xs):.0f}-{max(xs):.0f})" if xs else "-")
        print(f"{name:28}" + "".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
