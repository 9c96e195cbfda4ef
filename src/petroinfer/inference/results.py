"""The common result container returned by every ``fit`` (DESIGN.md §3).

A :class:`Result` holds a labelled point estimate, optional posterior draws in ArviZ layout
(``chain``, ``draw``, ...), the log evidence where it is defined, diagnostics, the chosen
hyperparameters with the criterion curve used to choose them, and provenance metadata (package version,
seed, parameters, input hash). It round-trips through NetCDF (``to_netcdf`` / ``from_netcdf``).

Capabilities may subclass it (a frozen dataclass) to add fields with defaults and a richer ``plot``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._rng import RandomState, seed_of
from petroinfer._version import __version__
from petroinfer.errors import InputError
from petroinfer.io._atomic import atomic_path

__all__ = ["Result", "hash_inputs", "make_metadata", "to_jsonable"]

_GROUPS = ("estimate", "posterior", "criterion")
_JSON_ATTRS = ("diagnostics", "hyperparameters", "metadata")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, pandas objects and paths to plain JSON-serialisable Python."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else (1e308 if obj > 0 else -1e308)
    if isinstance(obj, (pd.Series, pd.Index)):
        return to_jsonable(obj.tolist())
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="list"))
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def hash_inputs(*objs: Any) -> str:
    """SHA-256 (hex) of the inputs: DataFrames, arrays, xarray objects, bytes or anything with a repr."""
    h = hashlib.sha256()
    for obj in objs:
        if isinstance(obj, pd.DataFrame | pd.Series):
            h.update(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
            labels = obj.columns if isinstance(obj, pd.DataFrame) else [obj.name]
            h.update(repr(list(labels)).encode())
        elif isinstance(obj, xr.Dataset | xr.DataArray):
            named = obj.data_vars.items() if isinstance(obj, xr.Dataset) else [(obj.name, obj)]
            for name, v in [*named, *obj.coords.items()]:
                h.update(repr((name, v.dims, v.shape, v.dtype.str)).encode())
                h.update(np.ascontiguousarray(v.values).tobytes())
        elif isinstance(obj, np.ndarray):
            h.update(np.ascontiguousarray(obj).tobytes())
            h.update(repr((obj.shape, obj.dtype.str)).encode())
        elif isinstance(obj, bytes):
            h.update(obj)
        else:
            h.update(repr(obj).encode())
    return h.hexdigest()


def make_metadata(
    *,
    random_state: RandomState = None,
    parameters: Mapping[str, Any] | None = None,
    inputs: tuple[Any, ...] = (),
    method: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """Provenance record stored in every :class:`Result`."""
    meta = {
        "petroinfer_version": __version__,
        "method": method,
        "seed": seed_of(random_state),
        "parameters": to_jsonable(dict(parameters or {})),
        "input_hash": hash_inputs(*inputs) if inputs else None,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    meta.update(to_jsonable(extra))
    return meta


def _as_dataset(obj: Any, name: str) -> xr.Dataset | None:
    if obj is None:
        return None
    if isinstance(obj, xr.Dataset):
        return obj
    if isinstance(obj, xr.DataArray):
        return obj.to_dataset(name=obj.name or name)
    if isinstance(obj, pd.DataFrame):
        return xr.Dataset.from_dataframe(obj)
    if isinstance(obj, Mapping):
        return xr.Dataset({k: xr.DataArray(np.asarray(v)) for k, v in obj.items()})
    raise InputError(
        f"Result.{name} must be an xarray Dataset, DataArray, DataFrame or mapping",
        value=type(obj).__name__,
    )


@dataclass(frozen=True)
class Result:
    """What every petroinfer inverse problem returns.

    Attributes
    ----------
    estimate:
        Point estimate (posterior mean, MAP, fitted parameters ...) as a labelled ``xarray.Dataset``.
    posterior:
        Posterior draws with leading dims ``(chain, draw)`` (ArviZ layout), or ``None`` when the
        posterior is summarised analytically (then marginal SDs/intervals live in ``estimate``).
    log_evidence, log_evidence_se:
        Log marginal likelihood (nats) and its Monte-Carlo standard error, where defined.
    diagnostics:
        Convergence and quality numbers (R-hat, ESS, acceptance, swap rates, iterations ...).
    hyperparameters:
        The hyperparameters used (chosen from the data unless fixed by the user).
    criterion:
        The curve/grid used to choose hyperparameters or models (evidence, CV score ...).
    metadata:
        Provenance: package version, seed, parameters, input hash (see :func:`make_metadata`).
    """

    estimate: xr.Dataset
    posterior: xr.Dataset | None = None
    log_evidence: float | None = None
    log_evidence_se: float | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    criterion: xr.Dataset | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _GROUPS:
            object.__setattr__(self, name, _as_dataset(getattr(self, name), name))

    # ------------------------------------------------------------------ summaries
    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """Table of the result: ArviZ summary of the draws when there are draws, else the estimate.

        With draws the columns are ArviZ's (``mean``, ``sd``, ``hdi_5%``, ``hdi_95%``, ``ess_bulk``,
        ``r_hat`` ...); without, one row per estimated quantity.
        """
        if self.posterior is not None and {"chain", "draw"} <= set(self.posterior.dims):
            import arviz as az

            return az.summary(self.to_inference_data(), hdi_prob=hdi_prob)
        return (
            self.estimate.to_dataframe()
            if self.estimate.dims
            else pd.DataFrame({k: [v.item()] for k, v in self.estimate.data_vars.items()}).T.rename(
                columns={0: "value"}
            )
        )

    def to_inference_data(self):
        """The posterior draws as an ``arviz.InferenceData`` (requires ``posterior``)."""
        import arviz as az

        if self.posterior is None:
            raise InputError("this result has no posterior draws to convert to InferenceData")
        return az.convert_to_inference_data(self.posterior)

    def plot(self, ax=None):
        """Default plot: each estimated 1-D variable against its coordinate. Subclasses specialise."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        for name, var in self.estimate.data_vars.items():
            if var.ndim == 1:
                var.plot(ax=ax, label=str(name))
        ax.legend(loc="best", fontsize="small")
        return ax

    # ------------------------------------------------------------------ persistence
    def to_netcdf(self, path: str | os.PathLike[str]) -> None:
        """Write the result to one NetCDF-4 file (groups ``estimate``, ``posterior``, ``criterion``),
        atomically."""
        tree: dict[str, xr.Dataset] = {}
        root_attrs: dict[str, Any] = {
            "petroinfer_result_class": type(self).__name__,
            "log_evidence": np.nan if self.log_evidence is None else float(self.log_evidence),
            "log_evidence_se": np.nan
            if self.log_evidence_se is None
            else float(self.log_evidence_se),
        }
        for name in _JSON_ATTRS:
            root_attrs[name] = json.dumps(to_jsonable(dict(getattr(self, name))))
        tree["/"] = xr.Dataset(attrs=root_attrs)
        for name in _GROUPS:
            ds = getattr(self, name)
            if ds is not None:
                tree[f"/{name}"] = ds
        dt = xr.DataTree.from_dict(tree)
        with atomic_path(path) as tmp:
            dt.to_netcdf(tmp, engine="h5netcdf")

    @classmethod
    def from_netcdf(cls, path: str | os.PathLike[str]) -> Result:
        """Read a result written by :meth:`to_netcdf`."""
        with xr.open_datatree(path, engine="h5netcdf") as dt:
            dt = dt.load()
        attrs = dict(dt.attrs)
        kwargs: dict[str, Any] = {}
        for name in _GROUPS:
            kwargs[name] = dt[name].to_dataset() if name in dt.children else None
        for name in _JSON_ATTRS:
            kwargs[name] = json.loads(attrs.get(name, "{}"))
        for name in ("log_evidence", "log_evidence_se"):
            v = float(attrs.get(name, np.nan))
            kwargs[name] = None if np.isnan(v) else v
        own = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in kwargs.items() if k in own})
