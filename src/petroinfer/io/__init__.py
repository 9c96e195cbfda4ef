"""Readers, atomic writers and the public-dataset registry.

- :func:`read_table` — the one table reader of every command (CSV/TSV/TXT/XLSX; BOM, delimiter and
  decimal-comma detection; sample ids; refusals that name file, column, row and value).
- :func:`atomic_write`, :func:`atomic_path` — outputs written to a temporary file and renamed, with
  the permissions of the user's umask (:func:`current_umask`).
- :func:`fetch`, :func:`list_datasets`, :func:`load_dataset` — hash-checked public datasets.
"""

from petroinfer.io._atomic import atomic_path, atomic_write, current_umask
from petroinfer.io._tables import ABSURD_VALUE, read_table
from petroinfer.io.datasets import fetch, list_datasets, load_dataset

__all__ = [
    "ABSURD_VALUE",
    "atomic_path",
    "atomic_write",
    "current_umask",
    "fetch",
    "list_datasets",
    "load_dataset",
    "read_table",
]

from petroinfer.io._laicpms import count_quantum, read_laicpms  # LA-ICP-MS line scans

__all__ += ["count_quantum", "read_laicpms"]

from petroinfer.io._jeol import JeolSpots, read_jeol_map, read_jeol_qnt  # noqa: E402  (JEOL EPMA)

__all__ += ["JeolSpots", "read_jeol_map", "read_jeol_qnt"]
