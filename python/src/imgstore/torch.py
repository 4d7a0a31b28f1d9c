"""PyTorch datasets over imgstore stores and sharded datasets.

    from torch.utils.data import DataLoader
    from imgstore.torch import ImgstoreDataset
    loader = DataLoader(ImgstoreDataset("train.lmdb"), batch_size=64, shuffle=True, num_workers=2)

ImgstoreDataset is a map-style dataset (`__len__`, `__getitem__`), so DataLoader's samplers, including
`torch.utils.data.distributed.DistributedSampler`, work with it as with any other.
"""
import os

import torch
import torch.utils.data
from torch.utils.data import default_collate

from . import _malloc
from .dataset import open_dataset
from .errors import ImgstoreError

__all__ = ["ImgstoreDataset", "SkipBadSamples", "skip_none_collate"]

# Fixed glibc malloc thresholds for this process (and the workers it forks): see _malloc.py and the
# README's "Speed". IMGSTORE_MALLOPT=0 leaves malloc alone.
malloc_tuning = _malloc.tune()


class ImgstoreDataset(torch.utils.data.Dataset):
    """(image, label) pairs of a store or sharded dataset.

    image: a uint8 tensor, C×H×W (`layout="CHW"`, default, as torchvision.io.read_image) or H×W×C
    (`layout="HWC"`), that owns its memory, then passed through `transform` when given.
    label: the record's int label, passed through `target_transform`; -1 for unlabeled stores (so that
    default_collate can batch it).

    Fork- and spawn-safe: the store is opened (and checked) once here to know the length and refuse a
    bad store early; each process then opens its own LMDB environment on its first read (the process
    id is tracked; an environment is never used across fork), and pickling carries only paths.
    """

    def __init__(self, path, transform=None, target_transform=None, verify="always", layout="CHW"):
        if layout not in ("CHW", "HWC"):
            raise ValueError(f'layout must be "CHW" or "HWC", got {layout!r}')
        self.path = os.fspath(path)
        self.transform = transform
        self.target_transform = target_transform
        self.layout = layout
        self.dataset = open_dataset(self.path, verify=verify)
        self.label_names = self.dataset.label_names
        self._length = len(self.dataset)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        # The pixels are copied out of the store once, already in the layout asked for (a contiguous
        # C×H×W copy makes default_collate's stacking a plain copy; a permuted view made it a strided one).
        pixels, label = self.dataset.read_pixels(index, self.layout == "CHW")
        image = torch.from_numpy(pixels)  # no copy: the array is owned and writable
        if self.transform is not None:
            image = self.transform(image)
        if label is None:
            label = -1
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label


class SkipBadSamples(torch.utils.data.Dataset):
    """The skip policy of the TypeScript SafeDataset: a sample whose read (or transform) raises one of
    `errors` (default: any Exception) is returned as None and recorded in `skipped` ({index: reason},
    in the process that read it: with workers, each worker's own). Use with `collate_fn=skip_none_collate`,
    which drops the Nones, so a batch may hold fewer samples than batch_size (none: an empty batch is
    skipped by returning None from collate; guard for it in the loop, or use drop_last)."""

    def __init__(self, dataset, errors=(Exception,), on_skip=None):
        self.dataset = dataset
        self.errors = tuple(errors)
        self.on_skip = on_skip
        self.skipped = {}

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, index):
        try:
            return self.dataset[index]
        except IndexError:
            raise
        except self.errors as error:
            self.skipped[index] = str(error)
            if self.on_skip is not None:
                self.on_skip(index, error)
            return None


def skip_none_collate(batch):
    """default_collate over the samples that are not None; None when none is left."""
    kept = [b for b in batch if b is not None]
    return default_collate(kept) if kept else None
