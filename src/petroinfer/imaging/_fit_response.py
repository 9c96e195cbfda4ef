r"""Fitting a single-pulse response to isolated shots or to a sharp edge (Poisson ML, AIC)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import gammaln

from petroinfer.errors import InputError, ModelError
from petroinfer.imaging._response import RESPONSE_FAMILIES, PulseResponse, make_response

__all__ = ["ResponseFit", "fit_response"]

_PARAMS = {
    "lognormal": ("median", "sigma"),
    "gamma": ("shape", "scale"),
    "biexponential": ("rise", "decay"),
    "inverse_gaussian": ("mean", "shape"),
    "exgaussian": ("center", "width", "tail"),
}


def _start(family: str, mean: float, sd: float) -> dict[str, float]:
    cv = max(sd / mean, 0.05)
    if family == "lognormal":
        s2 = math.log(1 + cv * cv)
        return {"median": mean / math.exp(s2 / 2), "sigma": math.sqrt(s2)}
    if family == "gamma":
        return {"shape": max(1 / cv**2, 1.05), "scale": mean * cv**2}
    if family == "biexponential":
        return {"rise": 0.2 * mean, "decay": 0.8 * mean}
    if family == "inverse_gaussian":
        return {"mean": mean, "shape": mean / cv**2}
    return {"center": 0.5 * mean, "width": 0.3 * sd, "tail": 0.5 * mean}


class ResponseFit:
    """Outcome of :func:`fit_response`: the best response and the family table.

    Parameters
    ----------
    response : PulseResponse
        The family with the lowest AIC, at its maximum-likelihood parameters.
    table : pandas.DataFrame
        One row per family: ``log_likelihood``, ``n_params``, ``aic``, ``delta_aic``,
        ``akaike_weight``, ``fwhm_s`` and the parameters.
    responses : dict
        Family name → fitted response.
    """

    def __init__(self, response: PulseResponse, table: pd.DataFrame, responses: dict) -> None:
        self.response = response
        self.table = table
        self.responses = responses

    def __repr__(self) -> str:
        return (
            f"ResponseFit(best={type(self.response).__name__}, fwhm_s={self.response.fwhm():.4g})"
        )


def _model(resp: PulseResponse, t: np.ndarray, dt: float, kind: str) -> np.ndarray:
    # fraction of a pulse fired at t=0 (or of a unit edge) read in [t_i, t_i + dt]
    if kind == "shots":
        return np.diff(resp.cdf(np.append(t, t[-1] + dt)))
    # edge: the signal is the running integral of the response, averaged over the dwell window
    grid = np.linspace(0.0, 1.0, 9)
    return resp.cdf(t[:, None] + grid[None, :] * dt).mean(axis=1)


def fit_response(
    signal: np.ndarray,
    dt: float,
    *,
    kind: str = "shots",
    families: tuple[str, ...] | None = None,
    count_scale: float = 1.0,
) -> ResponseFit:
    r"""Fit single-pulse response families to single-shot transients or an edge; rank them by AIC.

    Parameters
    ----------
    signal : ndarray, shape (n,) or (n_shots, n)
        ``kind="shots"``: transients of isolated pulses, each fired at the first sample (summed over
        shots when 2-D); ``kind="edge"``: a scan across a sharp step starting at the first sample.
    dt : float
        Sampling interval, s.
    kind : {"shots", "edge"}
        What the signal is.
    families : tuple of str, optional
        Families to fit (default: all of ``RESPONSE_FAMILIES``).
    count_scale : float
        Multiplier turning the signal into counts (Poisson likelihood).

    Returns
    -------
    ResponseFit
        The best response and the AIC table.

    Notes
    -----
    Model :math:`\mu_i = A\,k_i(\theta, t_0) + b` with :math:`k_i` the response integrated over
    sample ``i`` (``shots``) or the cumulative response (``edge``, the edge-spread function),
    amplitude ``A``, baseline ``b`` and delay :math:`t_0`; Poisson log-likelihood
    :math:`\sum_i c_i\log\mu_i - \mu_i - \log c_i!` maximised by Nelder–Mead on log parameters;
    :math:`\mathrm{AIC} = 2k - 2\log L` (Akaike 1974) with ``k`` = shape parameters + 3
    (imaging_texture.md §B.3 [K/R]).

    Examples
    --------
    >>> from petroinfer.imaging import LogNormalResponse
    >>> true = LogNormalResponse(median=0.4, sigma=0.5, delay=0.1)
    >>> t = np.arange(60) * 0.05
    >>> counts = 2000 * (true.cdf(t + 0.05) - true.cdf(t)) + 5
    >>> fit = fit_response(np.random.default_rng(0).poisson(counts), 0.05,
    ...                    families=("lognormal", "gamma"))
    >>> fit.table.index[0], round(fit.response.fwhm() / true.fwhm(), 1)
    ('lognormal', 1.0)
    """
    if kind not in ("shots", "edge"):
        raise ModelError(f"kind must be 'shots' or 'edge'; got {kind!r}")
    y = np.asarray(signal, float)
    if y.ndim == 2:
        y = y.sum(axis=0)
    if y.ndim != 1 or y.size < 8:
        raise InputError(
            "a response fit needs a 1-D transient of at least 8 samples", value=y.shape
        )
    if not np.all(np.isfinite(y)) or np.any(y < 0):
        bad = int(np.flatnonzero(~np.isfinite(y) | (y < 0))[0])
        raise InputError("response data must be finite and ≥ 0", row=bad, value=y[bad])
    c = y * float(count_scale)
    t = np.arange(y.size) * float(dt)
    fams = tuple(families) if families else tuple(RESPONSE_FAMILIES)
    base = float(np.min(uniform(c, 3)))
    if kind == "shots":
        net = np.maximum(c - base, 0)
        amp0 = max(net.sum(), 1.0)
        tc = t + 0.5 * dt
        mean = float(np.sum(net * tc) / amp0)
        sd = float(np.sqrt(np.sum(net * (tc - mean) ** 2) / amp0))
    else:
        amp0 = max(float(np.max(uniform(c, 3)) - base), 1.0)
        deriv = np.maximum(np.diff(uniform(c, 3)), 0)
        mean = float(np.sum(deriv * t[1:]) / max(deriv.sum(), 1e-12))
        sd = float(np.sqrt(np.sum(deriv * (t[1:] - mean) ** 2) / max(deriv.sum(), 1e-12)))
    mean, sd = max(mean, dt), max(sd, dt / 2)
    rows, fitted = [], {}
    const = float(np.sum(gammaln(np.round(c) + 1)))
    for fam in fams:
        names = _PARAMS.get(fam)
        if names is None:
            raise ModelError(f"unknown response family {fam!r}; choose from {sorted(_PARAMS)}")
        start = _start(fam, mean, sd)

        def unpack(z, names=names, fam=fam):
            p = {k: float(v) for k, v in zip(names, np.exp(z[: len(names)]), strict=True)}
            if fam == "biexponential":
                p["decay"] = p["rise"] + p["decay"]
            return make_response(fam, delay=float(z[-3]), **p), math.exp(z[-2]), math.exp(z[-1])

        def nll(z, unpack=unpack):
            try:
                resp, amp, b = unpack(z)
                mu = amp * _model(resp, t, dt, kind) + b
            except (ModelError, InputError, ValueError, OverflowError):
                return 1e300
            mu = np.maximum(mu, 1e-300)
            v = float(np.sum(mu - c * np.log(mu)))
            return v if np.isfinite(v) else 1e300

        p0 = [start[k] for k in names]
        if fam == "biexponential":
            p0 = [start["rise"], start["decay"] - start["rise"]]
        z0 = np.r_[np.log(p0), 0.0, math.log(amp0), math.log(max(base, 0.1))]
        best = None
        for d0 in (0.0, -0.5 * mean):
            z0[-3] = d0
            r = optimize.minimize(
                nll,
                z0,
                method="Nelder-Mead",
                options={"maxiter": 1500, "xatol": 1e-6, "fatol": 1e-8},
            )
            if best is None or r.fun < best.fun:
                best = r
        resp, amp, b = unpack(best.x)
        loglik = -best.fun - const
        k = len(names) + 3
        fitted[fam] = resp
        rows.append(
            {
                "family": fam,
                "log_likelihood": loglik,
                "n_params": k,
                "aic": 2 * k - 2 * loglik,
                "fwhm_s": resp.fwhm(),
                "amplitude": amp,
                "baseline": b,
                **{f"param_{kk}": vv for kk, vv in resp.params().items()},
            }
        )
    table = pd.DataFrame(rows).set_index("family").sort_values("aic")
    table["delta_aic"] = table["aic"] - table["aic"].min()
    wts = np.exp(-0.5 * table["delta_aic"])
    table["akaike_weight"] = wts / wts.sum()
    return ResponseFit(fitted[table.index[0]], table, fitted)


def uniform(x: np.ndarray, k: int) -> np.ndarray:
    """Moving average of width ``k`` (edges: nearest value)."""
    from scipy.ndimage import uniform_filter1d

    return uniform_filter1d(np.asarray(x, float), k, mode="nearest")
