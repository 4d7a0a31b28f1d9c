"""Read imgstore stores (FORMAT.md, version 1) into numpy; `imgstore.torch` for PyTorch."""
from .dataset import Dataset, open_dataset
from .errors import ImgstoreError, StoreDamagedError, StoreFormatError, UnknownCodecError
from .store import Sample, Store, open_store

__version__ = "0.1.0"
__all__ = ["open_store", "open_dataset", "Store", "Dataset", "Sample", "ImgstoreError", "StoreFormatError",
           "StoreDamagedError", "UnknownCodecError", "__version__"]
