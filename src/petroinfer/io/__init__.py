"""Readers, atomic writers and the public-dataset registry."""

from petroinfer.io._atomic import atomic_path, atomic_write
from petroinfer.io._tables import read_table
from petroinfer.io.datasets import fetch, list_datasets, load_dataset

__all__ = ["atomic_path", "atomic_write", "fetch", "list_datasets", "load_dataset", "read_table"]
