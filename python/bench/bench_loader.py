#!/usr/bin/env python3
"""PyTorch DataLoader(batch_size=64, shuffle=True) throughput: this package beside the seed's loader
(ref_load.py over its own store) and torchvision ImageFolder, 0 and 2 workers, in alternating rounds.

    python3 python/bench/bench_loader.py --store CORPUS.lmdb --ref-dir ../shared/bench/python \\
        --ref-store REF.lmdb [--imagefolder CORPUS/classes] [--rounds 5] [--epochs 2]

The imgstore store is written beforehand by `imgstore convert CORPUS/classes CORPUS.lmdb` (256x256, raw),
the reference store by the reference converter (ref_convert.py). Each measurement is the median of
--epochs warm epochs after an untimed one (ImageFolder: --imagefolder-batches batches), each epoch with
fresh workers as the DataLoader defaults. Prints one JSON line per measurement, then medians and ranges,
and each ratio paired by round (ours / the baseline at its best worker count in the same round): the
median of the rounds' ratios and their range. The machine's other load moves both sides of a round alike.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
from torch.utils.data import DataLoader

import imgstore._crc as imgstore_crc
import imgstore._planar as imgstore_planar
import imgstore.torch as imgstore_torch
from imgstore.torch import ImgstoreDataset, SkipBadSamples, collate, skip_none_collate


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def epoch(loader, limit=None):
    """(samples, seconds) of one pass over `loader`, or of its first `limit` batches."""
    n, t = 0, clock()
    for k, batch in enumerate(loader):
        n += batch[0].shape[0] if isinstance(batch, (list, tuple)) else batch.shape[0]
        if limit and k + 1 >= limit:
            break
    return n, clock() - t


def measure(make, workers, epochs, limit=None):
    loader = make(workers)
    epoch(loader, limit)  # warm-up: page cache, worker start-up paths
    runs = [epoch(loader, limit) for _ in range(epochs)]
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
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                    help="cpu: samples per CPU second of this process (time.process_time), workers=0 only; "
                         "steadier than wall time on a machine that other jobs load")
    args = ap.parse_args()
    global clock
    clock = CLOCKS[args.clock]
    torch.manual_seed(0)
    workers = [int(w) for w in args.workers.split(",")]
    if args.clock == "cpu" and workers != [0]:
        ap.error("--clock cpu counts this process only: use it with --workers 0")

    pipelines = {}

    def ours(verify, skip, layout="CHW", collate_fn=None):
        def make(nw):
            ds = ImgstoreDataset(args.store, verify=verify, layout=layout)
            kw = {"collate_fn": collate_fn} if collate_fn else {}
            if skip:
                ds, kw = SkipBadSamples(ds), {"collate_fn": skip_none_collate}
            return DataLoader(ds, batch_size=64, shuffle=True, num_workers=nw, **kw)
        return make

    pipelines["imgstore verify=always"] = ours("always", False)
    pipelines["imgstore verify=once"] = ours("once", False)
    pipelines["imgstore verify=always +SkipBadSamples"] = ours("always", True)
    # The seed's loader yields H×W×C: the same layout, without the C×H×W transposition.
    pipelines["imgstore verify=always layout=HWC"] = ours("always", False, "HWC")
    # The package's collate: the batch tensor the dataset read the images into, without default_collate's copy.
    pipelines["imgstore verify=always collate_fn=collate"] = ours("always", False, "CHW", collate)
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

    results = {}  # (pipeline, workers) -> [samples/s per round]
    for r in range(args.rounds):
        order = list(pipelines) if r % 2 == 0 else list(reversed(pipelines))  # alternate the order
        for name in order:
            for nw in workers:
                limit = args.imagefolder_batches if name.startswith("torchvision") else None
                rate = measure(pipelines[name], nw, args.epochs, limit)
                results.setdefault((name, nw), []).append(rate)
                print(json.dumps({"round": r, "pipeline": name, "workers": nw, "samples_per_s": round(rate)}), flush=True)

    print(f"\n{'pipeline':42} {'workers':>7} {'median/s':>9} {'range':>17}")
    for (name, nw), rates in results.items():
        print(f"{name:42} {nw:7} {statistics.median(rates):9.0f} {min(rates):8.0f}-{max(rates):<8.0f}")

    def paired(ratios):
        return f"{statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f})"

    # Ratios are paired by round (both pipelines measured minutes apart at most, under the same load),
    # then summarized: the median of the per-round ratios and their range.
    print()
    for baseline in ("seed ref_load", "torchvision ImageFolder"):
        if (baseline, workers[0]) not in results:
            continue
        best = [max(results[(baseline, nw)][r] for nw in workers) for r in range(args.rounds)]
        picks = [max(workers, key=lambda nw: results[(baseline, nw)][r]) for r in range(args.rounds)]
        print(f"vs {baseline} at its best worker count per round (workers {picks}):")
        for name in pipelines:
            if name.startswith("imgstore"):
                for nw in workers:
                    ratios = [results[(name, nw)][r] / best[r] for r in range(args.rounds)]
                    print(f"  {name} workers={nw}: {paired(ratios)}")
    for nw in workers:
        if ("imgstore verify=once", nw) in results:
            ratios = [results[("imgstore verify=once", nw)][r] / results[("imgstore verify=always", nw)][r]
                      for r in range(args.rounds)]
            print(f"verify=once / verify=always, workers={nw}: {paired(ratios)}")
    print(f"(clock {args.clock}, cpu count {os.cpu_count()}, torch {torch.__version__}, threads "
          f"{torch.get_num_threads()}, CRC-32 by {imgstore_crc.implementation}, C×H×W copy by "
          f"{imgstore_planar.implementation}, malloc for every pipeline: {imgstore_torch.malloc_tuning})")


if __name__ == "__main__":
    main()
