"""Datasets, one module per source; see registry.py for how they are found."""
from arstudio.data.registry import DATASETS, Dataset, DataError, DatasetInfo, list_datasets, load_dataset, register_dataset

__all__ = ["DATASETS", "Dataset", "DataError", "DatasetInfo", "list_datasets", "load_dataset",
           "register_dataset"]
