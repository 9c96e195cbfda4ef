"""Synthetic whole-rock data with known truth (end-member mixtures, alteration, latent sources).

These forward models are what the tests and the demo validate against:

* :func:`make_endmember_mixtures` — Dirichlet mixtures of stoichiometric mineral bulk compositions
  (quartz, albite, muscovite, garnet, chlorite) with log-normal analytical noise; majors in wt%,
  traces (Rb, Sr, Zr, Ba) in ppm, as a whole-rock table is written (geochem.md §9.2).
* :func:`make_alteration` — several samples altered from one protolith with a known immobile set and a
  known mass change per sample (Gresens 1967; Grant 1986; geochem.md §6).
* :func:`make_latent_sources` — linear mixtures of independent non-Gaussian (bimodal) sources plus a
  high-variance Gaussian direction, for the KCA ↔ PCA / ICA checks (Iwamori et al. 2017; geochem.md §9.4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from petroinfer._rng import RandomState, as_generator
from petroinfer.composition import MAJOR_OXIDES, molar_mass
from petroinfer.errors import ModelError

__all__ = [
    "ENDMEMBER_FORMULAE",
    "AlterationTruth",
    "LatentSources",
    "MixtureTruth",
    "endmember_compositions",
    "make_alteration",
    "make_endmember_mixtures",
    "make_latent_sources",
]

#: Major oxides of the synthetic rocks, in the composition layer's order (``MAJOR_OXIDES``); molar
#: masses come from :func:`petroinfer.composition.molar_mass` (one place for atomic weights).
_MAJORS = [
    ox
    for ox in MAJOR_OXIDES
    if ox in {"SiO2", "TiO2", "Al2O3", "FeO", "MnO", "MgO", "CaO", "Na2O", "K2O", "P2O5"}
]
_TRACES = ["Rb", "Sr", "Zr", "Ba"]

#: Mineral end-members as moles of oxide per formula unit (anhydrous), plus minor oxides (wt%) and
#: trace elements (ppm) typical of metapelite minerals. Stoichiometry: quartz SiO2; albite NaAlSi3O8;
#: muscovite KAl3Si3O10(OH)2; garnet Alm65 Prp20 Grs10 Sps5 (X3Al2Si3O12); chlorite
#: (Mg2.5Fe2.0Al1.5)(Si2.5Al1.5)O10(OH)8. Water is left out (volatile-free bulk compositions).
ENDMEMBER_FORMULAE: dict[str, dict[str, dict[str, float]]] = {
    "quartz": {"oxides": {"SiO2": 1.0}, "minor": {"TiO2": 0.01}, "ppm": {"Zr": 15.0, "Sr": 2.0}},
    "albite": {
        "oxides": {"Na2O": 0.5, "Al2O3": 0.5, "SiO2": 3.0},
        "minor": {"CaO": 0.4, "P2O5": 0.05},
        "ppm": {"Sr": 350.0, "Ba": 120.0, "Rb": 4.0},
    },
    "muscovite": {
        "oxides": {"K2O": 0.5, "Al2O3": 1.5, "SiO2": 3.0},
        "minor": {"TiO2": 0.6, "MgO": 0.8, "FeO": 1.0},
        "ppm": {"Rb": 380.0, "Ba": 2200.0, "Sr": 60.0},
    },
    "garnet": {
        "oxides": {"FeO": 1.95, "MgO": 0.6, "CaO": 0.3, "MnO": 0.15, "Al2O3": 1.0, "SiO2": 3.0},
        "minor": {"P2O5": 0.08, "TiO2": 0.05},
        "ppm": {"Zr": 90.0, "Sr": 3.0},
    },
    "chlorite": {
        "oxides": {"MgO": 2.5, "FeO": 2.0, "Al2O3": 1.5, "SiO2": 2.5},
        "minor": {"TiO2": 0.08, "MnO": 0.3},
        "ppm": {"Rb": 3.0, "Ba": 15.0, "Zr": 5.0},
    },
}


def endmember_compositions(names: tuple[str, ...] | list[str] | None = None) -> pd.DataFrame:
    """Volatile-free bulk compositions of the mineral end-members: majors wt%, traces ppm.

    Each row sums to 100 wt% once ppm are converted (×10⁻⁴). Oxide masses from the formulae in
    :data:`ENDMEMBER_FORMULAE`; the minor oxides and traces are added and the row re-closed.

    Examples
    --------
    >>> em = endmember_compositions(["quartz", "albite"])
    >>> round(float(em.loc["albite", "SiO2"]), 1)
    68.4
    """
    names = list(ENDMEMBER_FORMULAE) if names is None else list(names)
    rows = []
    for name in names:
        if name not in ENDMEMBER_FORMULAE:
            raise ModelError(
                f"unknown end-member {name!r}; choose from {sorted(ENDMEMBER_FORMULAE)}"
            )
        spec = ENDMEMBER_FORMULAE[name]
        mass = {ox: n * molar_mass(ox) for ox, n in spec["oxides"].items()}
        total = sum(mass.values())
        wt = dict.fromkeys(_MAJORS + _TRACES, 0.0)
        for ox, m in mass.items():
            wt[ox] = 100.0 * m / total
        for ox, v in spec["minor"].items():
            wt[ox] += v
        for el, v in spec["ppm"].items():
            wt[el] = v * 1e-4
        s = sum(wt.values())
        wt = {k: 100.0 * v / s for k, v in wt.items()}
        for el in _TRACES:
            wt[el] *= 1e4  # back to ppm
        rows.append(wt)
    return pd.DataFrame(rows, index=pd.Index(names, name="endmember"))[_MAJORS + _TRACES]


@dataclass(frozen=True)
class MixtureTruth:
    """Output of :func:`make_endmember_mixtures`.

    Attributes
    ----------
    data : pandas.DataFrame
        Noisy observations (n_samples × 14): majors in wt%, traces in ppm.
    proportions : pandas.DataFrame
        True mass fractions (n_samples × K; rows sum to 1).
    endmembers : pandas.DataFrame
        True end-member compositions (K × 14; majors wt%, traces ppm).
    units : dict of str to str
        Column → unit (``"wt%"`` or ``"ppm"``).
    """

    data: pd.DataFrame
    proportions: pd.DataFrame
    endmembers: pd.DataFrame
    units: dict[str, str]


def make_endmember_mixtures(
    n_samples: int = 300,
    endmembers: tuple[str, ...] = ("quartz", "albite", "muscovite", "garnet"),
    *,
    alpha: float = 0.5,
    noise: float = 0.02,
    random_state: RandomState = None,
) -> MixtureTruth:
    r"""Whole-rock analyses as Dirichlet mixtures of stoichiometric end-members with log-normal noise.

    Model: :math:`x_{ij} = \big(\sum_k w_{ik} h_{kj}\big)\,\exp(\sigma\varepsilon_{ij})`, with
    :math:`w_i \sim \mathrm{Dirichlet}(\alpha\mathbf 1_K)` mass fractions, :math:`h_k` end-member
    compositions in wt% (:func:`endmember_compositions`), :math:`\varepsilon \sim N(0,1)` and
    :math:`\sigma` = ``noise`` (relative analytical error). Mixing is linear in mass units, so traces are
    mixed in wt% and reported in ppm (geochem.md §9.2).

    Parameters
    ----------
    n_samples : int, default 300
        Number of mixtures.
    endmembers : tuple of str, default ("quartz", "albite", "muscovite", "garnet")
        Names from :data:`ENDMEMBER_FORMULAE`.
    alpha : float, default 0.5
        Dirichlet concentration (0.5 puts many samples near the end-members).
    noise : float, default 0.02
        Relative (log-normal) analytical noise, e.g. 0.02 = 2 %.
    random_state : int, numpy Generator or None, default None
        Seed.

    Returns
    -------
    MixtureTruth
        Observations, true proportions and end-members, units.

    Examples
    --------
    >>> truth = make_endmember_mixtures(5, random_state=0)
    >>> truth.data.shape, bool((truth.proportions.sum(axis=1) - 1).abs().max() < 1e-12)
    ((5, 14), True)
    """
    if n_samples < 1 or alpha <= 0 or noise < 0:
        raise ModelError("need n_samples >= 1, alpha > 0 and noise >= 0")
    rng = as_generator(random_state)
    em = endmember_compositions(endmembers)
    units = {c: ("ppm" if c in _TRACES else "wt%") for c in em.columns}
    factor = np.array([1e-4 if units[c] == "ppm" else 1.0 for c in em.columns])
    H = em.to_numpy() * factor
    W = rng.dirichlet(np.full(len(endmembers), alpha), size=n_samples)
    # independent relative noise on every part: totals scatter around 100 wt% like unnormalised
    # analyses (SD ≈ 1.4 wt% at noise=0.02; rare rows above 105, see EndmemberNMF(max_total=))
    X = (W @ H) * np.exp(noise * rng.standard_normal((n_samples, H.shape[1])))
    index = pd.Index([f"S{i:03d}" for i in range(n_samples)], name="sample")
    data = pd.DataFrame(X / factor, index=index, columns=em.columns)
    props = pd.DataFrame(W, index=index, columns=list(endmembers))
    return MixtureTruth(data=data, proportions=props, endmembers=em, units=units)


# --------------------------------------------------------------------------- alteration
#: An N-MORB-like protolith (majors wt% after Gale et al. 2013 averages, rounded; traces ppm).
_PROTOLITH = {
    "SiO2": 50.5, "TiO2": 1.6, "Al2O3": 15.0, "FeOT": 10.4, "MnO": 0.18, "MgO": 7.6, "CaO": 11.4,
    "Na2O": 2.8, "K2O": 0.15, "P2O5": 0.17, "Zr": 104.0, "Y": 33.2, "Nb": 3.6, "Sr": 120.0,
    "Ba": 14.0,
}  # fmt: skip


@dataclass(frozen=True)
class AlterationTruth:
    r"""Output of :func:`make_alteration`.

    Attributes
    ----------
    data : pandas.DataFrame
        First row the protolith (``sample_id`` ``"P0"``), then the altered samples; majors wt%,
        traces ppm.
    protolith_id : str
        Id of the protolith row.
    immobile : list of str
        The immobile columns.
    mass_ratio : pandas.Series
        :math:`M_A/M_O` per altered sample (dimensionless).
    change : pandas.DataFrame
        Relative change of each element's mass, :math:`\Delta m_i/(M_O C_i^O)`, per altered sample.
    units : dict of str to str
        Column → unit.
    """

    data: pd.DataFrame
    protolith_id: str
    immobile: list[str]
    mass_ratio: pd.Series
    change: pd.DataFrame
    units: dict[str, str]


def make_alteration(
    n_samples: int = 10,
    *,
    immobile: tuple[str, ...] = ("TiO2", "Al2O3", "Zr", "Nb"),
    mass_change: tuple[float, float] = (-0.30, 0.40),
    element_change: tuple[float, float] = (0.25, 1.50),
    noise: float = 0.02,
    protolith_noise: float | None = None,
    random_state: RandomState = None,
    max_tries: int = 20000,
) -> AlterationTruth:
    r"""Samples altered from one protolith with a known immobile set and mass change (Grant 1986).

    Mass balance (Gresens 1967; Grant 1986): :math:`M_A C_i^A = M_O C_i^O (1 + c_i)`, so
    :math:`C_i^A = C_i^O (1 + c_i)/(M_A/M_O)`; immobile elements have :math:`c_i = 0` and lie on the
    isocon :math:`C^A = (M_O/M_A) C^O`. For each altered sample the mass ratio :math:`M_A/M_O - 1` is
    drawn uniformly from ``mass_change`` and every mobile element gains or loses (random sign) with
    :math:`|\log(1+c_i)| \sim U(\log(1+a), \log(1+b))`, ``(a, b) = element_change`` — a gain of
    25–150 % or the equivalent loss (20–60 %). Draws whose analysed total would exceed 100 wt% are
    rejected (the rest of the mass is unanalysed volatiles). The protolith and every altered sample then
    get log-normal analytical noise of relative size ``noise`` (``protolith_noise`` for the protolith,
    default ``noise``: one analysis; use ``noise/√m`` for a protolith averaged from m analyses).

    Parameters
    ----------
    n_samples : int, default 10
        Number of altered samples.
    immobile : tuple of str, default ("TiO2", "Al2O3", "Zr", "Nb")
        Immobile columns of the protolith.
    mass_change : tuple of float, default (-0.30, 0.40)
        Range of :math:`M_A/M_O - 1`.
    element_change : tuple of float, default (0.25, 1.50)
        Range ``(a, b)`` of the relative gain of a mobile element (losses are the reciprocal).
    noise : float, default 0.02
        Relative analytical noise of every altered analysis.
    protolith_noise : float, optional
        Relative noise of the protolith analysis (default ``noise``).
    random_state : int, numpy Generator or None, default None
        Seed.
    max_tries : int, default 20000
        Rejection-sampling attempts per sample for a total ≤ 99 wt%.

    Returns
    -------
    AlterationTruth
        Data, immobile set, true mass ratios and element changes.

    Examples
    --------
    >>> truth = make_alteration(3, random_state=0)
    >>> truth.data["sample_id"].tolist(), truth.immobile
    (['P0', 'A01', 'A02', 'A03'], ['TiO2', 'Al2O3', 'Zr', 'Nb'])
    """
    for name in immobile:
        if name not in _PROTOLITH:
            raise ModelError(f"immobile element {name!r} not in the protolith {sorted(_PROTOLITH)}")
    rng = as_generator(random_state)
    cols = list(_PROTOLITH)
    c0 = np.array([_PROTOLITH[c] for c in cols])
    units = {c: ("ppm" if c in ("Zr", "Y", "Nb", "Sr", "Ba") else "wt%") for c in cols}
    to_wt = np.array([1e-4 if units[c] == "ppm" else 1.0 for c in cols])
    mobile = np.array([c not in immobile for c in cols])
    lo, hi = np.log1p(element_change[0]), np.log1p(element_change[1])
    ratios, factors = [], []
    for _ in range(n_samples):
        ratio = 1.0 + rng.uniform(*mass_change)
        for _try in range(max_tries):
            logf = rng.uniform(lo, hi, size=len(cols)) * rng.choice([-1.0, 1.0], size=len(cols))
            f = np.where(mobile, np.exp(logf), 1.0)
            total = float(np.sum(c0 * to_wt * f) / ratio)
            if total <= 99.0:
                break
        else:  # pragma: no cover - practically unreachable with the defaults
            raise ModelError(
                "could not draw a physically possible altered sample; widen the ranges"
            )
        ratios.append(ratio)
        factors.append(f)
    F = np.array(factors)
    R = np.array(ratios)
    CA = c0 * F / R[:, None]
    pn = noise if protolith_noise is None else protolith_noise
    obs0 = c0 * np.exp(pn * rng.standard_normal(len(cols)))
    obsA = CA * np.exp(noise * rng.standard_normal(CA.shape))
    ids = ["P0"] + [f"A{j:02d}" for j in range(1, n_samples + 1)]
    data = pd.DataFrame(np.vstack([obs0, obsA]), columns=cols)
    data.insert(0, "sample_id", ids)
    alt_index = pd.Index(ids[1:], name="sample_id")
    return AlterationTruth(
        data=data,
        protolith_id="P0",
        immobile=list(immobile),
        mass_ratio=pd.Series(R, index=alt_index, name="mass_ratio"),
        change=pd.DataFrame(F - 1.0, index=alt_index, columns=cols),
        units=units,
    )


# --------------------------------------------------------------------------- latent sources
@dataclass(frozen=True)
class LatentSources:
    """Output of :func:`make_latent_sources`: ``data`` (n × p), ``sources`` (n × 3), ``mixing`` (p × 3),
    ``groups`` (n,) integer label of the bimodal-source quadrant."""

    data: pd.DataFrame
    sources: np.ndarray
    mixing: np.ndarray
    groups: np.ndarray


def make_latent_sources(
    n_samples: int = 800,
    n_features: int = 5,
    *,
    gaussian_scale: float = 3.0,
    separation: float = 1.6,
    noise: float = 0.05,
    random_state: RandomState = None,
) -> LatentSources:
    r"""Two independent bimodal (non-Gaussian) sources and one high-variance Gaussian, linearly mixed.

    :math:`x = A s + \epsilon` with :math:`s_1, s_2 = \pm` ``separation`` :math:`+ N(0, 0.4^2)`
    (independent group structure), :math:`s_3 \sim N(0,` ``gaussian_scale``:math:`^2)` and a random
    mixing matrix :math:`A` (p × 3). Used for the Iwamori et al. (2017) check that k-means on whitened
    data finds the independent (ICA) directions whereas on standardised data it follows the PCs.
    """
    rng = as_generator(random_state)
    g = rng.integers(0, 2, size=(n_samples, 2))
    s12 = (2 * g - 1) * separation + 0.4 * rng.standard_normal((n_samples, 2))
    s3 = gaussian_scale * rng.standard_normal(n_samples)
    S = np.column_stack([s12, s3])
    A = rng.normal(size=(n_features, 3))
    X = S @ A.T + noise * rng.standard_normal((n_samples, n_features))
    cols = [f"x{i + 1}" for i in range(n_features)]
    return LatentSources(
        data=pd.DataFrame(X, columns=cols), sources=S, mixing=A, groups=g[:, 0] * 2 + g[:, 1]
    )
