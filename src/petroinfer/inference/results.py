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
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from petroinfer._rng import RandomState, seed_of
from petroinfer._version import __version__
from petroinfer.errors import InputError, format_value
from petroinfer.io import atomic_path

__all__ = ["Result", "hash_inputs", "make_metadata", "to_jsonable"]

_GROUPS = ("estimate", "posterior", "criterion")
_JSON_ATTRS = ("diagnostics", "hyperparameters", "metadata")


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, pandas objects and paths to plain JSON-serialisable Python.

    Parameters
    ----------
    obj : object
        Mappings, sequences, numpy/pandas objects, paths or scalars (nested freely).

    Returns
    -------
    object
        The same structure made of dicts, lists, str, int, float, bool and None; non-finite floats
        become ``None`` (NaN) or ±1e308, anything else its ``repr``.

    Examples
    --------
    >>> to_jsonable({"a": np.arange(2), "b": np.float64(0.5)})
    {'a': [0, 1], 'b': 0.5}
    """
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
    """SHA-256 (hex) of the inputs: DataFrames, arrays, xarray objects, bytes or anything with a repr.

    Parameters
    ----------
    *objs : object
        The inputs of a fit, in order (values, labels, shapes and dtypes all enter the hash).

    Returns
    -------
    str
        64 hexadecimal characters.

    Examples
    --------
    >>> hash_inputs(np.zeros(3)) == hash_inputs(np.zeros(3)) != hash_inputs(np.ones(3))
    True
    """
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
    """Provenance record stored in every :class:`Result`.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None
        The seed used (recorded as an int where it can be).
    parameters : Mapping or None
        The configuration of the method (made JSON-serialisable).
    inputs : tuple
        The inputs, hashed with :func:`hash_inputs`.
    method : str
        What was run.
    **extra : object
        Further JSON-serialisable entries.

    Returns
    -------
    dict
        ``petroinfer_version``, ``method``, ``seed``, ``parameters``, ``input_hash``, ``created``
        (UTC, ISO 8601) and the ``extra`` entries.
    """
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


_REPR_ITEMS = 6  # variables / hyperparameters listed before "+n more"


def _vars_line(ds: xr.Dataset, skip: tuple[str, ...] = ()) -> str:
    items = []
    for name, da in ds.data_vars.items():
        dims = [d for d in da.dims if d not in skip]
        shape = ", ".join(f"{d}={da.sizes[d]}" for d in dims)
        items.append(f"{name}({shape})" if shape else str(name))
    more = len(items) - _REPR_ITEMS
    text = ", ".join(items[:_REPR_ITEMS])
    return text + (f", … (+{more} more)" if more > 0 else "")


def _short_repr(res: Result) -> str:
    """A few-line summary of a Result (issue 12): never a dump of its datasets."""
    method = res.metadata.get("method") if isinstance(res.metadata, Mapping) else None
    head = f"{type(res).__name__}(method={format_value(method or '', max_len=40)})"
    lines = [head, f"  estimate: {_vars_line(res.estimate)}"]
    if res.posterior is not None:
        if {"chain", "draw"} <= set(res.posterior.dims):
            nc, nd = res.posterior.sizes["chain"], res.posterior.sizes["draw"]
            draws = f"{nc} chain{'s' if nc != 1 else ''} × {nd} draws: "
        else:
            draws = ""
        lines.append(f"  posterior: {draws}{_vars_line(res.posterior, ('chain', 'draw'))}")
    if res.log_evidence is not None:
        ev = f"{float(res.log_evidence):.6g}"
        if res.log_evidence_se is not None:
            ev += f" ± {float(res.log_evidence_se):.2g}"
        lines.append(f"  log_evidence: {ev}")
    if res.hyperparameters:
        items = [f"{k}={format_value(v, max_len=24)}" for k, v in res.hyperparameters.items()]
        more = len(items) - _REPR_ITEMS
        text = ", ".join(items[:_REPR_ITEMS]) + (f", … (+{more} more)" if more > 0 else "")
        lines.append(f"  hyperparameters: {text}")
    return "\n".join(line if len(line) <= 160 else line[:159] + "…" for line in lines)


@dataclass(frozen=True)
class Result:
    """What every petroinfer inverse problem returns.

    All constructor arguments are stored as (frozen) attributes of the same name. ``estimate``,
    ``posterior`` and ``criterion`` may be given as an ``xarray.Dataset``, an ``xarray.DataArray``,
    a ``pandas.DataFrame`` or a mapping of names to arrays; they are converted to ``xarray.Dataset``.

    Parameters
    ----------
    estimate : xarray.Dataset
        Point estimate (posterior mean, MAP, fitted parameters ...) as a labelled ``xarray.Dataset``.
    posterior : xarray.Dataset or None, optional
        Posterior draws with leading dims ``(chain, draw)`` (ArviZ layout), or ``None`` (default) when
        the posterior is summarised analytically (then marginal SDs/intervals live in ``estimate``).
    log_evidence : float or None, optional
        Log marginal likelihood (nats), where defined (default ``None``).
    log_evidence_se : float or None, optional
        Monte-Carlo standard error of ``log_evidence`` (nats), where defined (default ``None``).
    diagnostics : Mapping, optional
        Convergence and quality numbers (R-hat, ESS, acceptance, swap rates, iterations ...);
        default empty.
    hyperparameters : Mapping, optional
        The hyperparameters used (chosen from the data unless fixed by the user); default empty.
    criterion : xarray.Dataset or None, optional
        The curve/grid used to choose hyperparameters or models (evidence, CV score ...); default
        ``None``.
    metadata : Mapping, optional
        Provenance: package version, seed, parameters, input hash (see :func:`make_metadata`);
        default empty.

    Notes
    -----
    ``repr`` is a few lines (class, method, variables with their dims, log evidence, number of draws,
    hyperparameters), inherited by every subclass; ``summary()`` gives the numbers.

    Examples
    --------
    >>> import numpy as np
    >>> res = Result(estimate={"T": np.linspace(800.0, 900.0, 50)}, log_evidence=-12.5,
    ...              hyperparameters={"kappa": 2.0}, metadata={"method": "demo"})
    >>> print(res)
    Result(method='demo')
      estimate: T(dim_0=50)
      log_evidence: -12.5
      hyperparameters: kappa=2
    """

    estimate: xr.Dataset
    posterior: xr.Dataset | None = None
    log_evidence: float | None = None
    log_evidence_se: float | None = None
    diagnostics: Mapping[str, Any] = field(default_factory=dict)
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    criterion: xr.Dataset | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # ``@dataclass`` would give each subclass a generated field-dump ``__repr__``; putting the
        # short one in the subclass's own namespace first makes the decorator keep it.
        super().__init_subclass__(**kwargs)
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = cls.__repr__  # type: ignore[method-assign]  # inherited (Result's or a parent's)

    def __post_init__(self) -> None:
        for name in _GROUPS:
            object.__setattr__(self, name, _as_dataset(getattr(self, name), name))

    # ------------------------------------------------------------------ summaries
    def __repr__(self) -> str:
        """A few lines: class, method, estimated variables with dims, evidence, draws, hyperparameters."""
        return _short_repr(self)

    def summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """Table of the result: ArviZ-style summary of the draws when there are draws, else the estimate.

        Parameters
        ----------
        hdi_prob : float
            Probability mass of the highest-density interval reported for draws.

        Returns
        -------
        pandas.DataFrame
            With draws, one row per scalar quantity and the columns of
            :func:`~petroinfer.inference.diagnostics.summarize_draws` (``mean``, ``sd``, ``hdi_5%``,
            ``hdi_95%``, ``mcse_mean``, ``mcse_sd``, ``ess_bulk``, ``ess_tail``, ``r_hat``); without,
            one row per estimated quantity.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> post = xr.Dataset({"mu": (("chain", "draw"), rng.normal(size=(2, 500)))})
        >>> table = Result(estimate={"mu": 0.0}, posterior=post).summary()
        >>> list(table.columns[:4]), bool(abs(table.loc["mu", "mean"]) < 0.1)
        (['mean', 'sd', 'hdi_5%', 'hdi_95%'], True)
        """
        if self.posterior is not None and {"chain", "draw"} <= set(self.posterior.dims):
            from petroinfer.inference.diagnostics import summarize_draws

            return summarize_draws(self.posterior, hdi_prob=hdi_prob)
        return (
            self.estimate.to_dataframe()
            if self.estimate.dims
            else pd.DataFrame({k: [v.item()] for k, v in self.estimate.data_vars.items()}).T.rename(
                columns={0: "value"}
            )
        )

    def to_datatree(self) -> xr.DataTree:
        """The posterior draws as an ArviZ 1.x ``xarray.DataTree`` (group ``posterior``).

        Returns
        -------
        xarray.DataTree
            A tree whose ``posterior`` group holds the draws ``(chain, draw, ...)``; it is what
            ``arviz_stats`` and ``arviz_plots`` functions take (ArviZ 1.x replaced
            ``InferenceData`` by ``DataTree``).

        Raises
        ------
        InputError
            If the result has no ``posterior``.

        Examples
        --------
        >>> post = xr.Dataset({"mu": (("chain", "draw"), np.zeros((2, 10)))})
        >>> tree = Result(estimate={"mu": 0.0}, posterior=post).to_datatree()
        >>> dict(tree["posterior"].sizes)
        {'chain': 2, 'draw': 10}
        """
        if self.posterior is None:
            raise InputError("this result has no posterior draws to convert to a DataTree")
        return xr.DataTree.from_dict({"/posterior": self.posterior})

    def to_inference_data(self) -> xr.DataTree:
        """Deprecated alias of :meth:`to_datatree` (ArviZ 1.x has no ``InferenceData``).

        Returns
        -------
        xarray.DataTree
            The same tree as :meth:`to_datatree`.
        """
        warnings.warn(
            "Result.to_inference_data() is deprecated: ArviZ 1.x uses xarray.DataTree; "
            "call Result.to_datatree()",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_datatree()

    def plot(self, ax=None):
        """Default plot: each estimated 1-D variable against its coordinate. Subclasses specialise.

        Parameters
        ----------
        ax : matplotlib.axes.Axes or None
            Axes to draw on (a new figure when ``None``).

        Returns
        -------
        matplotlib.axes.Axes
        """
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
        atomically.

        Parameters
        ----------
        path : str or os.PathLike
            Destination; written to a temporary file first and renamed, so a failure leaves no
            partial file and an existing file untouched.
        """
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
        """Read a result written by :meth:`to_netcdf`.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by :meth:`to_netcdf`.

        Returns
        -------
        Result
            An instance of ``cls`` (fields unknown to ``cls`` are dropped).
        """
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
