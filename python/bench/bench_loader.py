#!/usr/bin/env python3
"""PyTorch DataLoader(batch_size=64, shuffle=True) throughput: this package beside the seed's loader
(ref_load.py over its own store) and torchvision ImageFolder, 0 and 2 workers, in alternating rounds.

    python3 python/bench/bench_loader.py --store CORPUS.lmdb --ref-dir ../shared/bench/python \\
        --ref-store REF.lmdb [--imagefolder CORPUS/classes] [--rounds 5] [--epochs 2]

The imgstore store is written beforehand by `imgstore convert CORPUS/classes CORPUS.lmdb` (256x256, raw),
the reference store by the reference converter (ref_convert.py). Each measurement is one warm epoch
after an untimed one, with a fresh DataLoader per epoch as the DataLoader defaults. Prints one JSON
line per measurement and a summary: medians, ranges, and ratios of medians.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader

from imgstore.torch import ImgstoreDataset, SkipBadSamples, skip_none_collate


def epoch(loader):
    n = 0
    t = time.perf_counter()
    for batch in loader:
        n += batch[0].shape[0] if isinstance(batch, (list, tuple)) else batch.shape[0]
    return n, time.perf_counter() - t


def measure(make, workers, epochs, limit=None):
    loader = make(workers)
    if limit:  # slow pipelines: a fixed number of batches
        def lim():
            n, t = 0, time.perf_counter()
            for k, batch in enumerate(loader):
                n += batch[0].shape[0]
                if k + 1 >= limit:
                    break
            return n, time.perf_counter() - t
        lim()
        runs = [lim() for _ in range(epochs)]
    else:
        epoch(loader)  # warm-up: page cache, worker start-up paths
        runs = [epoch(loader) for _ in range(epochs)]
    return statistics.median(n / s for n, s in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--ref-dir", help="folder of ref_load.py")
    ap.add_argument("--ref-store")
    ap.add_argument("--imagefolder")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--imagefolder-batches", type=int, default=6)
    args = ap.parse_args()
    torch.manual_seed(0)
    workers = [int(w) for w in args.workers.split(",")]

    pipelines = {}

    def ours(verify, skip):
        def make(nw):
            ds = ImgstoreDataset(args.store, verify=verify)
            kw = {}
            if skip:
                ds, kw = SkipBadSamples(ds), {"collate_fn": skip_none_collate}
            return DataLoader(ds, batch_size=64, shuffle=True, num_workers=nw, **kw)
        return make

    pipelines["imgstore verify=always"] = ours("always", False)
    pipelines["imgstore verify=once"] = ours("once", False)
    pipelines["imgstore verify=always +SkipBadSamples"] = ours("always", True)
    if args.ref_dir and args.ref_store:
        sys.path.insert(0, args.ref_dir)
        import ref_load

        def ref(nw):
            ds = ref_load.SafeDataset(ref_load.LMDBDataset(args.ref_store))
            return DataLoader(ds, batch_size=64, shuffle=True, num_workers=nw)
        pipelines["seed ref_load"] = ref
    if args.imagefolder:
        try:
            import torchvision
            from torchvision import transforms

            tf = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(256), transforms.PILToTensor()])

            def imagefolder(nw):
                ds = torchvision.datasets.ImageFolder(args.imagefolder, transform=tf)
                return DataLoader(ds, batch_size=64, shuffle=True, num_workers=nw)
            pipelines["torchvision ImageFolder"] = imagefolder
        except ImportError:
            print("torchvision is not installed: ImageFolder skipped", file=sys.stderr)

    results = {}
    for r in range(args.rounds):
        order = list(pipelines) if r % 2 == 0 else list(reversed(pipelines))  # alternate the order
        for name in order:
            for nw in workers:
                limit = args.imagefolder_batches if name.startswith("torchvision") else None
                rate = measure(pipelines[name], nw, args.epochs, limit)
                results.setdefault((name, nw), []).append(rate)
                print(json.dumps({"round": r, "pipeline": name, "workers": nw, "samples_per_s": round(rate)}), flush=True)

    print(f"\n{'pipeline':42} {'workers':>7} {'median/s':>9} {'range':>17}")
    med = {}
    for (name, nw), rates in results.items():
        med[(name, nw)] = statistics.median(rates)
        print(f"{name:42} {nw:7} {med[(name, nw)]:9.0f} {min(rates):8.0f}-{max(rates):<8.0f}")

    def best(name):
        return max((med[(name, nw)], nw) for nw in workers if (name, nw) in med)

    print()
    for baseline in ("seed ref_load", "torchvision ImageFolder"):
        if (baseline, workers[0]) not in med:
            continue
        b, bnw = best(baseline)
        for name in pipelines:
            if name.startswith("imgstore"):
                for nw in workers:
                    print(f"{name} workers={nw} / {baseline} at its best (workers={bnw}): {med[(name, nw)] / b:.2f}x")
    print(f"(cpu count {os.cpu_count()}, torch {torch.__version__}, threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main()
