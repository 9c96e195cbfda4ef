"""Mineral formula recalculation: cations per N oxygens, Fe3+ by charge balance, end-members.

The recalculation is vectorised over analyses (rows). Oxide columns are found through the
composition vocabulary, so ``SiO2``, ``SIO2 (wt%)`` and ``Grt_SiO2`` all work.

References
----------
Droop, G.T.R. (1987) A general equation for estimating Fe3+ concentrations in ferromagnesian
silicates and oxides from microprobe analyses, using stoichiometric criteria. *Mineral. Mag.* 51,
431–435.
Deer, W.A., Howie, R.A. & Zussman, J. (1992) *An Introduction to the Rock-Forming Minerals*,
2nd ed., Longman (Appendix: calculation of a formula from a chemical analysis).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from petroinfer.composition._names import name_category, parse_column
from petroinfer.composition._units import molar_mass, oxide_stoichiometry
from petroinfer.composition._validate import numeric_column
from petroinfer.errors import InputError, ModelError

__all__ = [
    "MINERALS",
    "MineralSpec",
    "endmember_fractions",
    "mineral_formula",
    "oxides_from_formula",
]

_IRON = {"FeO", "Fe2O3", "FeOT", "Fe2O3T"}
_NOT_CATIONS = {"H2O", "H2O+", "H2O-", "CO2", "LOI", "F", "Cl", "S", "SO2", "Total", "CationSum"}
_CATION_ORDER = (
    "Si", "Ti", "Al", "Cr", "V", "Fe3+", "Fe2+", "Mn", "Ni", "Co", "Zn", "Cu", "Mg", "Ca", "Sr",
    "Ba", "Pb", "Li", "Na", "K", "Rb", "Cs", "P", "Zr", "Y",
)  # fmt: skip


def _d(formula: pd.DataFrame, name: str) -> np.ndarray:
    return formula[name].to_numpy(dtype=float) if name in formula else np.zeros(len(formula))


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _garnet(f: pd.DataFrame) -> dict[str, np.ndarray]:
    fe2, mg, ca, mn, fe3 = (_d(f, k) for k in ("Fe2+", "Mg", "Ca", "Mn", "Fe3+"))
    x = fe2 + mg + ca + mn
    ca_adr = np.minimum(1.5 * fe3, ca)  # Ca3Fe3+2Si3O12: 3 Ca per 2 Fe3+
    return {
        "XAlm": _safe_ratio(fe2, x),
        "XPrp": _safe_ratio(mg, x),
        "XGrs": _safe_ratio(ca - ca_adr, x),
        "XSps": _safe_ratio(mn, x),
        "XAdr": _safe_ratio(ca_adr, x),
    }


def _biotite(f: pd.DataFrame) -> dict[str, np.ndarray]:
    si, al, mg, fe2 = (_d(f, k) for k in ("Si", "Al", "Mg", "Fe2+"))
    xmg = _safe_ratio(mg, mg + fe2)
    al_iv = np.clip(4.0 - si, 0.0, al)
    al_vi = np.maximum(al - al_iv, 0.0)
    east = np.clip(al_vi, 0.0, 1.0)
    return {
        "XMg": xmg,
        "XFe": 1.0 - xmg,
        "XPhl": (1.0 - east) * xmg,
        "XAnn": (1.0 - east) * (1.0 - xmg),
        "XEast": east,
    }


def _muscovite(f: pd.DataFrame) -> dict[str, np.ndarray]:
    si, na, k, ca = (_d(f, c) for c in ("Si", "Na", "K", "Ca"))
    a = na + k + ca
    xk = _safe_ratio(k, a)
    cel = np.minimum(np.clip(si - 3.0, 0.0, 1.0), xk)
    return {
        "XMs": xk - cel,
        "XCel": cel,
        "XPg": _safe_ratio(na, a),
        "XMrg": _safe_ratio(ca, a),
    }


def _feldspar(f: pd.DataFrame) -> dict[str, np.ndarray]:
    ca, na, k = (_d(f, c) for c in ("Ca", "Na", "K"))
    s = ca + na + k
    return {"XAn": _safe_ratio(ca, s), "XAb": _safe_ratio(na, s), "XOr": _safe_ratio(k, s)}


def _spinel(f: pd.DataFrame) -> dict[str, np.ndarray]:
    mg, fe2, fe3, cr, al = (_d(f, c) for c in ("Mg", "Fe2+", "Fe3+", "Cr", "Al"))
    return {
        "Mg#": _safe_ratio(mg, mg + fe2),
        "Cr#": _safe_ratio(cr, cr + al),
        "XFe3": _safe_ratio(fe3, fe3 + cr + al),
    }


def _olivine(f: pd.DataFrame) -> dict[str, np.ndarray]:
    mg, fe2, fe3 = (_d(f, c) for c in ("Mg", "Fe2+", "Fe3+"))
    xfo = _safe_ratio(mg, mg + fe2 + fe3)
    return {"XFo": xfo, "XFa": 1.0 - xfo}


def _pyroxene(f: pd.DataFrame) -> dict[str, np.ndarray]:
    ca, mg, fe2, fe3, mn = (_d(f, c) for c in ("Ca", "Mg", "Fe2+", "Fe3+", "Mn"))
    s = ca + mg + fe2 + fe3 + mn
    return {
        "XWo": _safe_ratio(ca, s),
        "XEn": _safe_ratio(mg, s),
        "XFs": _safe_ratio(fe2 + fe3 + mn, s),
        "Mg#": _safe_ratio(mg, mg + fe2),
    }


@dataclass(frozen=True)
class MineralSpec:
    """How to recalculate one mineral.

    Parameters
    ----------
    oxygens : float
        Oxygens per formula unit of the normalisation (e.g. 12 for garnet).
    cations : float | None
        Cations per formula unit when the formula is cation-normalised, else ``None``.
    iron : str
        How Fe³⁺ is estimated (``"droop"`` charge balance or ``"none"``).
    endmembers : Callable[[DataFrame], dict[str, ndarray]]
        Maps the formula table (cations per formula unit) to end-member fractions.
    prefix : str
        Whitney & Evans (2010) abbreviation used as column prefix (``"Grt"``).

    Attributes
    ----------
    oxygens:
        Oxygens per formula unit (anhydrous basis: O10(OH)2 counts as 11).
    cations:
        Ideal cation total per ``oxygens`` used by the Droop (1987) Fe3+ estimate, or None.
    iron:
        Default iron treatment: ``"charge-balance"``, ``"ferrous"`` or ``"ferric"``.
    endmembers:
        Function of the cation table returning the end-member fractions.
    prefix:
        Whitney & Evans (2010) abbreviation used for prefixed columns (``Grt_SiO2``).
    """

    oxygens: float
    cations: float | None
    iron: str
    endmembers: Callable[[pd.DataFrame], dict[str, np.ndarray]]
    prefix: str


#: Supported minerals. Garnet and spinel/pyroxene allow Fe3+ by charge balance; micas do not
#: (vacancies and OH make the cation sum unconstrained), so their Fe is ferrous unless Fe2O3 is
#: given; feldspar Fe is ferric (Fe3+ substitutes for Al in the tetrahedral sites).
MINERALS: dict[str, MineralSpec] = {
    "garnet": MineralSpec(12, 8, "charge-balance", _garnet, "Grt"),
    "biotite": MineralSpec(11, None, "ferrous", _biotite, "Bt"),
    "muscovite": MineralSpec(11, None, "ferrous", _muscovite, "Ms"),
    "plagioclase": MineralSpec(8, 5, "ferric", _feldspar, "Pl"),
    "feldspar": MineralSpec(8, 5, "ferric", _feldspar, "Fsp"),
    "spinel": MineralSpec(4, 3, "charge-balance", _spinel, "Spl"),
    "olivine": MineralSpec(4, 3, "ferrous", _olivine, "Ol"),
    "pyroxene": MineralSpec(6, 4, "charge-balance", _pyroxene, "Px"),
}


def _select_columns(df: pd.DataFrame, prefix: str | None) -> dict[str, str]:
    """canonical oxide name → column of ``df`` (for one prefix, or unprefixed columns)."""
    found: dict[str, str] = {}
    for col in df.columns:
        p = parse_column(str(col))
        if p.name is None or p.prefix != prefix:
            continue
        if p.name in _NOT_CATIONS or name_category(p.name) != "oxide":
            continue
        if p.name in found:
            raise InputError(
                f"columns {found[p.name]!r} and {col!r} both mean {p.name!r}", column=str(col)
            )
        found[p.name] = str(col)
    return found


def _numeric_block(df: pd.DataFrame, cols: dict[str, str]) -> pd.DataFrame:
    out = {}
    for name, col in cols.items():
        v = numeric_column(df[col], "non-numeric cell")
        neg = v < 0
        if neg.any():
            row = df.index[np.flatnonzero(neg.to_numpy())[0]]
            raise InputError("negative oxide value", column=col, row=row, value=float(v[row]))
        out[name] = v.fillna(0.0).astype(float)
    return pd.DataFrame(out, index=df.index)


def mineral_formula(
    data: pd.DataFrame | pd.Series,
    mineral: str | None = None,
    *,
    oxygens: float | None = None,
    cations: float | None = None,
    fe3: str | float = "auto",
    prefix: str | None = "auto",
    endmembers: bool = True,
) -> pd.DataFrame:
    r"""Structural formula (cations per N oxygens) and end-member fractions of mineral analyses.

    Parameters
    ----------
    data : DataFrame | Series
        Oxide analyses in wt% (rows = analyses; a Series is one analysis). Missing cells count
        as zero (not analysed). H2O, F, Cl, CO2 and LOI are not part of the oxygen basis.
    mineral : str | None
        ``"garnet"`` (12 O, 8 cations), ``"biotite"`` (11 O), ``"muscovite"`` (11 O),
        ``"plagioclase"``/``"feldspar"`` (8 O), ``"spinel"`` (4 O, 3 cations), ``"olivine"``
        (4 O), ``"pyroxene"`` (6 O, 4 cations), or ``None`` for the generic path (give
        ``oxygens``).
    oxygens : float | None
        Oxygen basis; overrides the mineral default (e.g. 24 for garnet gives twice the
        cations, the same end-member fractions).
    cations : float | None
        Ideal cation total on that basis, enabling the Droop (1987) Fe3+ estimate. Defaults to
        the mineral's value scaled to ``oxygens``.
    fe3 : str | float
        ``"auto"`` (the mineral's default), ``"charge-balance"`` (Droop 1987, needs a cation
        total), ``"ferrous"`` (all Fe as Fe2+), ``"ferric"`` (all Fe as Fe3+), or a number: the
        molar Fe3+/ΣFe. If both FeO and Fe2O3 are given, the measured split is kept.
    prefix : str | None
        Mineral prefix of the columns to use (``"Grt"`` for ``Grt_SiO2``). ``"auto"`` uses
        unprefixed oxide columns if there are any, else the mineral's standard prefix. Output
        end-member columns carry the same prefix (``Grt_XAlm``).
    endmembers : bool
        Append end-member fractions (needs ``mineral``).

    Returns
    -------
    DataFrame
        Index as ``data``; columns: cations per formula unit (``Si``, ``Ti``, ``Al``, ``Cr``,
        ``Fe3+``, ``Fe2+``, ``Mn``, ``Mg``, ``Ca``, ``Na``, ``K``, ...), ``CationSum``,
        ``Oxygens``, then end-member fractions (garnet ``XAlm XPrp XGrs XSps XAdr``; biotite
        ``XMg XFe XPhl XAnn XEast``; plagioclase ``XAn XAb XOr``; muscovite
        ``XMs XCel XPg XMrg``; spinel ``Mg# Cr# XFe3``; olivine ``XFo XFa``; pyroxene
        ``XWo XEn XFs Mg#``).

    Notes
    -----
    For oxide :math:`M_xO_y` with mass fraction :math:`w` and molar mass :math:`W`, the cation
    and oxygen proportions are :math:`c = x w/W` and :math:`o = y w/W`; cations per *N* oxygens
    are :math:`c\,N/\sum o` (Deer et al. 1992, Appendix).

    Fe3+ by charge balance (Droop 1987, Eq. 8): with all iron as Fe2+, let *S* be the cation
    sum per *N* oxygens and *T* the ideal cation total; if :math:`S > T`,
    :math:`Fe^{3+} = 2N(1 - T/S)` and all cations are rescaled by :math:`T/S`; otherwise
    Fe3+ = 0.

    End-members: garnet fractions are X-site fractions of Fe2+, Mg, Ca, Mn; andradite takes
    :math:`1.5\,Fe^{3+}` of the Ca (Ca3Fe3+2Si3O12) and grossular the rest. Biotite:
    :math:`X_{Mg} = Mg/(Mg+Fe^{2+})`, eastonite = octahedral Al
    (:math:`Al^{VI} = Al - (4 - Si)`, capped at 1), and the rest split into phlogopite and
    annite by :math:`X_{Mg}`. Plagioclase: :math:`X_{An} = Ca/(Ca+Na+K)` etc. Muscovite:
    interlayer fractions Na → paragonite, Ca → margarite, K → muscovite + celadonite with
    celadonite = :math:`Si - 3` (capped by the K fraction). These are simple conventional
    schemes; see ``docs/methods/composition.md``.

    Examples
    --------
    >>> import pandas as pd
    >>> alm = pd.Series({"SiO2": 36.20, "Al2O3": 20.48, "FeO": 43.30})  # ideal almandine
    >>> f = mineral_formula(alm, "garnet")
    >>> round(float(f["Si"].iloc[0]), 2), round(float(f["XAlm"].iloc[0]), 3)
    (3.0, 1.0)
    """
    if isinstance(data, pd.Series):
        df = data.to_frame().T
    elif isinstance(data, pd.DataFrame):
        df = data
    else:
        raise InputError(f"expected a pandas DataFrame or Series, got {type(data).__name__}")
    spec = None
    if mineral is not None:
        key = str(mineral).lower()
        if key not in MINERALS:
            raise ModelError(f"mineral={mineral!r} is not one of {sorted(MINERALS)}")
        spec = MINERALS[key]
    if oxygens is None:
        if spec is None:
            raise ModelError("give mineral= or oxygens= (the oxygen basis)")
        oxygens = float(spec.oxygens)
    oxygens = float(oxygens)
    if not np.isfinite(oxygens) or oxygens <= 0:
        raise ModelError(f"oxygens={oxygens} must be a positive number")
    if cations is None and spec is not None and spec.cations is not None:
        cations = spec.cations * oxygens / spec.oxygens
    iron = fe3
    if iron == "auto":
        iron = (
            spec.iron
            if spec is not None
            else ("charge-balance" if cations is not None else "ferrous")
        )
    if isinstance(iron, str) and iron not in {"charge-balance", "ferrous", "ferric"}:
        raise ModelError(
            f"fe3={fe3!r} is not one of 'auto', 'charge-balance', 'ferrous', 'ferric' or a number"
        )
    if iron == "charge-balance" and cations is None:
        raise ModelError("fe3='charge-balance' needs cations= (ideal cation total)")
    if not isinstance(iron, str):
        iron = float(iron)
        if not 0.0 <= iron <= 1.0:
            raise ModelError(f"fe3={fe3} must be within [0, 1] (molar Fe3+/total Fe)")

    if prefix == "auto":
        cols = _select_columns(df, None)
        use_prefix = None
        if not cols and spec is not None:
            cols = _select_columns(df, spec.prefix)
            use_prefix = spec.prefix
    else:
        use_prefix = prefix
        cols = _select_columns(df, prefix)
    if not cols:
        where = f"with prefix {use_prefix!r} " if use_prefix else ""
        raise InputError(f"no oxide columns {where}found (expected e.g. SiO2, Al2O3, FeO)")
    wt = _numeric_block(df, cols)

    # iron bookkeeping: explicit FeO + Fe2O3 keeps the measured split
    measured_split = "Fe2O3" in wt and "FeO" in wt and not ({"FeOT", "Fe2O3T"} & set(wt))
    fe_total_mol = np.zeros(len(wt))  # mol Fe per 100 g
    fe3_mol = np.zeros(len(wt))
    cat = {}
    oxy = np.zeros(len(wt))
    for name in wt.columns:
        w = wt[name].to_numpy()
        if name in _IRON:
            base = {"FeOT": "FeO", "Fe2O3T": "Fe2O3"}.get(name, name)
            n_fe = w / molar_mass(base) * (2.0 if base == "Fe2O3" else 1.0)
            if name in {"FeOT", "Fe2O3T"} or not measured_split:
                fe_total_mol += n_fe
            else:
                fe_total_mol += n_fe
                if base == "Fe2O3":
                    fe3_mol += n_fe
            continue
        el, x, y = oxide_stoichiometry(name)
        mol = w / molar_mass(name)
        cat[el] = cat.get(el, 0.0) + x * mol
        oxy += y * mol
    if {"FeOT", "Fe2O3T"} & set(wt) and {"FeO", "Fe2O3"} & set(wt):
        raise InputError(
            "both total iron (FeOT/Fe2O3T) and FeO/Fe2O3 columns given; keep one form",
            column=next(c for n, c in cols.items() if n in {"FeO", "Fe2O3"}),
        )
    if measured_split:
        r = _safe_ratio(fe3_mol, fe_total_mol)
        r = np.nan_to_num(r)
        mode: str | float = "measured"
    elif isinstance(iron, float):
        r = np.full(len(wt), iron)
        mode = iron
    elif iron == "ferric":
        r = np.ones(len(wt))
        mode = "ferric"
    else:
        r = np.zeros(len(wt))
        mode = iron
    fe3_mol = r * fe_total_mol
    fe2_mol = fe_total_mol - fe3_mol
    oxy = oxy + fe2_mol + 1.5 * fe3_mol
    bad = ~(oxy > 0)
    if bad.any():
        row = df.index[int(np.flatnonzero(bad)[0])]
        raise InputError("analysis has no oxides (all zero or missing)", row=row, value=0.0)
    factor = oxygens / oxy
    out: dict[str, np.ndarray] = {k: v * factor for k, v in cat.items()}
    fe2 = fe2_mol * factor
    fe3c = fe3_mol * factor
    if mode == "charge-balance":
        s = sum(out.values()) + fe2
        scale = np.where(s > cations, cations / s, 1.0)  # type: ignore[operator]
        est = np.where(s > cations, 2.0 * oxygens * (1.0 - cations / s), 0.0)  # type: ignore[operator]
        fe_tot = fe2 * scale
        fe3c = np.minimum(est, fe_tot)
        fe2 = fe_tot - fe3c
        out = {k: v * scale for k, v in out.items()}
    if fe_total_mol.any() or "FeO" in wt or "FeOT" in wt or "Fe2O3" in wt or "Fe2O3T" in wt:
        out["Fe3+"] = fe3c
        out["Fe2+"] = fe2
    ordered = [c for c in _CATION_ORDER if c in out] + sorted(
        c for c in out if c not in _CATION_ORDER
    )
    formula = pd.DataFrame({c: out[c] for c in ordered}, index=df.index)
    formula["CationSum"] = formula.sum(axis=1)
    formula["Oxygens"] = oxygens
    if endmembers and spec is not None:
        em = spec.endmembers(formula)
        for k, v in em.items():
            formula[f"{use_prefix}_{k}" if use_prefix else k] = v
    formula.attrs = {
        "mineral": mineral,
        "oxygens": oxygens,
        "cations": cations,
        "fe3": mode if isinstance(mode, str) else float(mode),
        "columns_used": dict(cols),
    }
    return formula


def endmember_fractions(formula: pd.DataFrame, mineral: str) -> pd.DataFrame:
    """End-member fractions from a cation table produced by :func:`mineral_formula`.

    Parameters
    ----------
    formula : DataFrame
        Cations per formula unit, as returned by :func:`mineral_formula`.
    mineral : str
        Mineral name (a key of :data:`MINERALS`).

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"Ca": [0.5], "Na": [0.5], "K": [0.0]})
    >>> endmember_fractions(f, "plagioclase")["XAn"].tolist()
    [0.5]
    """
    key = str(mineral).lower()
    if key not in MINERALS:
        raise ModelError(f"mineral={mineral!r} is not one of {sorted(MINERALS)}")
    return pd.DataFrame(MINERALS[key].endmembers(formula), index=formula.index)


def oxides_from_formula(
    formula: Mapping[str, float] | pd.DataFrame, *, h2o: float = 0.0, total: float = 100.0
) -> pd.DataFrame:
    """Oxide wt% of a structural formula (the forward model of :func:`mineral_formula`).

    Parameters
    ----------
    formula : Mapping[str, float] | DataFrame
        Cations per formula unit, e.g. ``{"Fe2+": 3, "Al": 2, "Si": 3}`` (a mapping, or a
        DataFrame with one formula per row). ``Fe2+`` → FeO, ``Fe3+`` → Fe2O3, other cations
        → :data:`~petroinfer.composition.DEFAULT_OXIDES`.
    h2o : float
        Moles of H2O per formula unit (1 for O10(OH)2 micas), included in the analysis.
    total : float
        Sum of the returned oxides (100 for a perfect analysis).

    Returns
    -------
    DataFrame
        Oxide wt% (plus ``H2O`` when ``h2o > 0``).

    Notes
    -----
    Oxide :math:`M_xO_y` receives :math:`n_M/x` moles per formula unit; masses use
    :func:`~petroinfer.composition.molar_mass`; the result is closed to ``total``.

    Examples
    --------
    >>> ox = oxides_from_formula({"Fe2+": 3, "Al": 2, "Si": 3})
    >>> round(float(ox["FeO"].iloc[0]), 2)
    43.3
    """
    from petroinfer.composition._units import DEFAULT_OXIDES

    df = pd.DataFrame([dict(formula)]) if not isinstance(formula, pd.DataFrame) else formula
    table = {**DEFAULT_OXIDES, "Fe2+": "FeO", "Fe3+": "Fe2O3", "Fe": "FeO"}
    masses: dict[str, np.ndarray] = {}
    for col in df.columns:
        if col in {"CationSum", "Oxygens"} or str(col).startswith("X") or col in {"Mg#", "Cr#"}:
            continue
        if col not in table:
            raise InputError(f"no oxide known for cation {col!r}", column=str(col))
        ox = table[col]
        _, x, _ = oxide_stoichiometry(ox)
        n = pd.to_numeric(df[col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        masses[ox] = masses.get(ox, 0.0) + n / x * molar_mass(ox)
    if h2o > 0:
        masses["H2O"] = np.full(len(df), h2o * molar_mass("H2O"))
    out = pd.DataFrame(masses, index=df.index)
    return out.mul(total / out.sum(axis=1), axis=0)
