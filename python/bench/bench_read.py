#!/usr/bin/env python3
"""Read-path micro-benchmark: Store[i] and ImgstoreDataset[i] in random order, and one DataLoader
(batch_size=64, shuffle=True, num_workers=0) epoch after an untimed one, in alternating rounds.

    PYTHONPATH=python/src python3 python/bench/bench_read.py --store CORPUS.lmdb [--rounds 7] \\
        [--baseline DIR]

--baseline DIR: a folder holding a copy of another version of the package as `imgstore_baseline`
(e.g. `git show`/`cp -R` of src/imgstore into DIR/imgstore_baseline, its `from imgstore...` imports
renamed); each measurement then alternates between it and the imported `imgstore`, in the same process.
Prints samples/s: median and range per measurement and version.
"""
import argparse
import importlib
import random
import statistics
import sys
import time
import warnings

from torch.utils.data import DataLoader


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--baseline")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    versions = {"current": (importlib.import_module("imgstore"), importlib.import_module("imgstore.torch"))}
    if args.baseline:
        sys.path.insert(0, args.baseline)
        versions["baseline"] = (importlib.import_module("imgstore_baseline"),
                                importlib.import_module("imgstore_baseline.torch"))

    def store_get(v, order):
        with v[0].open_store(args.store) as s:
            t = time.perf_counter()
            for i in order:
                s[i]
            return len(order) / (time.perf_counter() - t)

    def dataset_get(v, order):
        d = v[1].ImgstoreDataset(args.store)
        t = time.perf_counter()
        for i in order:
            d[i]
        return len(order) / (time.perf_counter() - t)

    def loader(verify):
        def run(v, order):
            dl = DataLoader(v[1].ImgstoreDataset(args.store, verify=verify), batch_size=64, shuffle=True)
            for _ in dl:
                pass
            n, t = 0, time.perf_counter()
            for batch in dl:
                n += batch[0].shape[0]
            return n / (time.perf_counter() - t)
        return run

    tests = {"open_store(...)[i]": store_get, "ImgstoreDataset[i]": dataset_get,
             "DataLoader 0 workers, always": loader("always"), "DataLoader 0 workers, once": loader("once")}
    random.seed(0)
    with versions["current"][0].open_store(args.store) as s:
        n = len(s)
    results = {}
    for r in range(args.rounds):
        order = list(range(n))
        random.shuffle(order)
        names = list(versions) if r % 2 == 0 else list(reversed(versions))
        for test, f in tests.items():
            for name in names:
                results.setdefault((test, name), []).append(f(versions[name], order))
    for test in tests:
        for name in versions:
            x = results[(test, name)]
            print(f"{test:30} {name:9} median {statistics.median(x):7.0f}/s  range {min(x):6.0f}-{max(x):<6.0f}")


if __name__ == "__main__":
    main()
