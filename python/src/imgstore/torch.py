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

__all__ = ["ImgstoreDataset", "SkipBadSamples", "collate", "skip_none_collate"]

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
        h, w, c = self.dataset.sample_shape
        self._image_shape = None if h == 0 else ((c, h, w) if layout == "CHW" else (h, w, c))

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        # The pixels are copied out of the store once, already in the layout asked for (a contiguous
        # C×H×W copy makes default_collate's stacking a plain copy; a permuted view made it a strided one).
        pixels, label = self.dataset.read_pixels(index, self.layout == "CHW")
        return self._finish(torch.from_numpy(pixels), label)  # no copy: the array is owned and writable

    def _finish(self, image, label):
        if self.transform is not None:
            image = self.transform(image)
        if label is None:
            label = -1
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __getitems__(self, indices):
        """The samples of a batch (DataLoader calls this instead of one __getitem__ per index): with a
        fixed sample size, each image is read straight into its slot of one batch tensor (in shared
        memory inside a DataLoader worker), and `collate` returns that tensor without copying it;
        default_collate stacks the images as it does any others."""
        if self._image_shape is None:
            return [self[i] for i in indices]
        images = _new_batch((len(indices), *self._image_shape))
        slots = images.numpy()
        samples = _Batch()
        samples.images, samples.views = images, []
        chw = self.layout == "CHW"
        for k, index in enumerate(indices):
            _, label = self.dataset.read_pixels(index, chw, slots[k])
            view = images[k]
            samples.views.append(view)
            samples.append(self._finish(view, label))
        return samples


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


class _Batch(list):
    """Samples read by ImgstoreDataset.__getitems__: `images` the batch tensor, `views` its rows."""

    def intact(self):
        """Every sample's image is still its row of `images` (a transform may have replaced it)."""
        return len(self) == len(self.views) and all(type(s) is tuple and len(s) == 2 and s[0] is v
                                                    for s, v in zip(self, self.views))


def _new_batch(shape):
    """An empty uint8 tensor; inside a DataLoader worker in shared memory, as default_collate makes its
    batches there (the batch then reaches the main process without a copy)."""
    if torch.utils.data.get_worker_info() is not None:
        try:
            elem = torch.empty(0, dtype=torch.uint8)
            typed = elem._typed_storage() if hasattr(elem, "_typed_storage") else elem.storage()
            numel = 1
            for n in shape:
                numel *= n
            return elem.new(typed._new_shared(numel, device=elem.device)).resize_(shape)
        except (AttributeError, TypeError, RuntimeError):  # private API of other torch versions
            pass
    return torch.empty(shape, dtype=torch.uint8)


def collate(batch):
    """default_collate, except that a batch read by ImgstoreDataset.__getitems__ (the images untouched
    or changed in place by the transform) returns its batch tensor as it is instead of stacking a copy:
    `DataLoader(ds, batch_size=64, shuffle=True, collate_fn=imgstore.torch.collate)`. Same result."""
    if isinstance(batch, _Batch) and batch and batch.intact():
        return [batch.images, default_collate([label for _, label in batch])]
    return default_collate(batch)


def skip_none_collate(batch):
    """default_collate over the samples that are not None; None when none is left."""
    kept = [b for b in batch if b is not None]
    return default_collate(kept) if kept else None
