"""Interaction data on any rating scale: the dataset type, readers, splits, named datasets.

:func:`fetch` (in :mod:`conv4rec.data.fetch`) downloads the MovieLens archives from GroupLens.
"""

from conv4rec.data.fetch import FetchError, fetch
from conv4rec.data.interactions import DataError, Interactions, Split
from conv4rec.data.readers import from_arrays, read_table
from conv4rec.data.registry import cache_dir, data_root, list_datasets, load_dataset
from conv4rec.data.splits import (
    fixed_split,
    per_user_holdout_mask,
    random_split,
    temporal_split,
    user_fold_in_split,
)

__all__ = [
    "DataError",
    "FetchError",
    "Interactions",
    "Split",
    "cache_dir",
    "data_root",
    "fetch",
    "fixed_split",
    "from_arrays",
    "list_datasets",
    "load_dataset",
    "per_user_holdout_mask",
    "random_split",
    "read_table",
    "temporal_split",
    "user_fold_in_split",
]
