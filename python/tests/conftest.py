"""Stores for the tests are written by the repo's CLI (packages/cli/dist/bin.js: build the repo first)
and read back by the TypeScript reader (dump_ts.mjs) to compare with this package."""
import base64
import json
import os
import shutil
import subprocess
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLI = os.path.join(REPO, "packages", "cli", "dist", "bin.js")
NODE = shutil.which("node") or "node"


def _wait_for_build():
    # Another job may be rebuilding the repo: a missing dist file is waited for, not a failure at once.
    for _ in range(6):
        if os.path.exists(CLI):
            return
        time.sleep(20)
    pytest.fail(f"{CLI} is missing: build the repo first (npx nx run-many -t build)")


def run_cli(*args):
    _wait_for_build()
    done = subprocess.run([NODE, CLI, *args], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done


def ts_dump(path):
    """What the TypeScript reader reads at `path`: {samples: [...]} or {error: {...}}."""
    done = subprocess.run([NODE, os.path.join(HERE, "dump_ts.mjs"), path], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    value = json.loads(done.stdout)
    for s in value.get("samples", []):
        s["pixels"] = np.frombuffer(base64.b64decode(s["pixels"]), np.uint8).reshape(s["shape"])
    return value


STORES = {
    "raw": ["--size", "32x24"],
    "lz4": ["--size", "32x24", "--codec", "lz4"],
    "jpeg": ["--size", "32x24", "--codec", "jpeg"],
    "grey": ["--size", "20x20", "--channels", "1"],
    "grey-jpeg": ["--size", "20x20", "--channels", "1", "--codec", "jpeg"],
    "rgba-lz4": ["--size", "16x16", "--channels", "4", "--codec", "lz4"],
    "variable": ["--size", "shorter:24"],
    "variable-lz4": ["--size", "shorter:16", "--codec", "lz4"],
}


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("imgstore")
    images = root / "images"
    shutil.copytree(os.path.join(REPO, "samples", "images"), images)
    (images / "sky" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")  # one reject
    return root


def store_maker(workdir, table, prefix=""):
    """make(kind): the store converted from the sample images with the CLI options table[kind], built once."""
    built = {}

    def make(kind):
        if kind not in built:
            out = str(workdir / f"{prefix}{kind}.lmdb")
            if kind == "sharded":
                for i in range(3):
                    run_cli("convert", str(workdir / "images"), out, "--size", "16x12", "--shard-count", "3",
                            "--shard-index", str(i), "-q")
                run_cli("manifest", out)
            else:
                run_cli("convert", str(workdir / "images"), out, *table[kind], "-q")
            built[kind] = out
        return built[kind]

    return make


@pytest.fixture(scope="session")
def make_store(workdir):
    return store_maker(workdir, STORES)


@pytest.fixture
def copy_store(make_store, tmp_path):
    """A fresh copy of a built store, to damage."""

    copies = []

    def copy(kind="raw"):
        copies.append(kind)
        dst = tmp_path / f"{kind}-copy{len(copies)}.lmdb"
        shutil.copytree(make_store(kind), dst)
        return str(dst)

    return copy
