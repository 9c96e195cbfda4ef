"""Region-by-region writers of :func:`~petroinfer.geochem.segment_map` outputs: NetCDF or Zarr.

The small variables (coordinates, centres, centroids) are written by xarray; the map-sized ones
(``memberships`` (y, x, cluster), ``label`` (y, x), ``entropy`` (y, x)) are created empty, chunked
like the segmentation blocks, and filled one block at a time as the blocks are computed, so the
outputs are never held whole. Everything is written under a hidden temporary name next to the
target and renamed onto it when complete (nothing is left behind on failure).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from petroinfer.errors import ModelError

__all__ = ["FORMATS", "SegmentationStore", "open_segmentation", "resolve_format"]

FORMATS = ("netcdf", "zarr")


def resolve_format(path: str | os.PathLike, fmt: str | None) -> str:
    """``fmt``, or the format implied by the suffix of ``path`` (``.zarr`` → zarr, else netcdf)."""
    if fmt is not None:
        return fmt
    return "zarr" if Path(path).suffix.lower() == ".zarr" else "netcdf"


def open_segmentation(path: str | os.PathLike, fmt: str) -> xr.Dataset:
    """Open a written segmentation lazily (dask-backed, on-disk chunks)."""
    if fmt == "zarr":
        return xr.open_zarr(path)
    return xr.open_dataset(path, engine="h5netcdf", chunks={})


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class SegmentationStore:
    """Create the output file, write blocks into it, then move it onto ``path``.

    Parameters
    ----------
    path : path-like
        Final NetCDF file or Zarr store (folder).
    fmt : {"netcdf", "zarr"}
        Output format.
    small : xarray.Dataset
        Coordinates (y, x, cluster, element) and the small variables, written as they are.
    dims : tuple of str
        Names of the (y, x) dimensions.
    n_clusters : int
        Number of clusters.
    block : int
        Block side in pixels (the on-disk chunk side of the map-sized variables).
    dtype : str
        Precision of ``memberships`` and ``entropy``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fmt: str,
        small: xr.Dataset,
        dims: tuple[str, str],
        n_clusters: int,
        block: int,
        dtype: str,
    ) -> None:
        self.path = Path(path)
        self.fmt = fmt
        ydim, xdim = dims
        ny, nx = small.sizes[ydim], small.sizes[xdim]
        by, bx, c = min(block, ny), min(block, nx), n_clusters
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.parent / f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp"
        self._file: Any = None
        self._group: Any = None
        specs = {
            "memberships": ((ydim, xdim, "cluster"), dtype, (by, bx, c), "1"),
            "label": ((ydim, xdim), "int16", (by, bx), "1"),
            "entropy": ((ydim, xdim), dtype, (by, bx), "nat"),
        }
        try:
            if fmt == "zarr":
                import dask.array as da

                try:
                    import zarr
                except ImportError:
                    raise ModelError(
                        "Zarr output needs the 'zarr' package (pip install zarr); or write NetCDF"
                    ) from None

                template = small.copy()
                for name, (vdims, dt, ch, units) in specs.items():
                    shape = tuple(small.sizes[d] if d != "cluster" else c for d in vdims)
                    template[name] = (vdims, da.zeros(shape, chunks=ch, dtype=dt), {"units": units})
                # metadata only: the map-sized variables are filled block by block below. Zarr
                # format 2 with consolidated metadata: read by every Zarr library (format 3 has no
                # stable string type for the element names, nor consolidated metadata, yet)
                template.to_zarr(
                    self.tmp, mode="w", compute=False, consolidated=True, zarr_format=2
                )
                self._group = zarr.open_group(str(self.tmp), mode="r+")
            else:
                import h5netcdf

                small.to_netcdf(self.tmp, engine="h5netcdf")
                self._file = h5netcdf.File(self.tmp, "a")
                for name, (vdims, dt, ch, units) in specs.items():
                    var = self._file.create_variable(name, vdims, dtype=dt, chunks=ch)
                    var.attrs["units"] = units
        except BaseException:
            self.abort()
            raise

    def write(self, region: tuple[int, int, int, int], out: dict[str, np.ndarray]) -> None:
        """Write one block (``memberships``, ``label``, ``entropy``) at ``region``."""
        y0, y1, x0, x1 = region
        target = self._group if self.fmt == "zarr" else self._file.variables
        for name in ("memberships", "label", "entropy"):
            target[name][y0:y1, x0:x1] = out[name]

    def commit(self) -> Path:
        """Close the temporary output and move it onto ``path`` (replacing an older one)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._group = None
        if self.fmt == "netcdf":
            os.chmod(self.tmp, 0o666 & ~_umask())
        if self.path.is_dir() and not self.path.is_symlink():
            shutil.rmtree(self.path)
        elif self.path.exists() and self.fmt == "zarr":
            self.path.unlink()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and remove the temporary output."""
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None
        self._group = None
        if self.tmp.is_dir():
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif self.tmp.exists():
            self.tmp.unlink()
