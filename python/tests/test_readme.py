"""The README's "From Python" training loop runs as written, on a store the CLI wrote."""
import os
import re

from conftest import REPO


def readme_training_loop():
    text = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_training_loop_runs(make_store, monkeypatch, tmp_path):
    code = readme_training_loop()
    assert 'ImgstoreDataset("train.lmdb")' in code and "collate_fn=collate" in code
    monkeypatch.chdir(tmp_path)
    os.symlink(make_store("raw"), tmp_path / "train.lmdb")
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    # It trained: one step per batch of the store's samples, on a loss that is a number.
    assert scope["loss"].dim() == 0 and bool(scope["loss"].isfinite())
    assert scope["images"].dtype.is_floating_point is False and scope["images"].dim() == 4
