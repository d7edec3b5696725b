"""Datasets, one module per source; see registry.py for how they are found."""
from arstudio.data.registry import (
           DATASETS,
           DataError,
           Dataset,
           DatasetInfo,
           PrefixInfo,
           list_datasets,
           list_prefixes,
           load_dataset,
           register_dataset,
           register_prefix,
)

__all__ = [
           "DATASETS",
           "DataError",
           "Dataset",
           "DatasetInfo",
           "PrefixInfo",
           "list_datasets",
           "list_prefixes",
           "load_dataset",
           "register_dataset",
           "register_prefix",
]
