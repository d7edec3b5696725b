"""Datasets, one module per source; see registry.py for how they are found."""
from arstudio.data.registry import (
           DATASETS,
           DataError,
           Dataset,
           DatasetInfo,
           list_datasets,
           load_dataset,
           register_dataset,
)

__all__ = [
           "DATASETS",
           "DataError",
           "Dataset",
           "DatasetInfo",
           "list_datasets",
           "load_dataset",
           "register_dataset",
]
