r"""Mineral/melt partition coefficients and mantle mineral modes by name (DESIGN.md §1).

Published constants typed into two package-data tables under ``petroinfer/composition/data/``
(``mineral_partition_coefficients.csv``, ``mineral_modes.csv``); each row records where it was typed
from (``source``). Bulk solid/melt coefficients :math:`D_i = \sum_\phi x_\phi K_{\phi,i}` are formed
from these by :func:`petroinfer.geochem.bulk_partition_coefficient` (Shaw 1970, eq. 1).

Mineral/melt tables
-------------------
``"gibson_geist_2010"``
    Mineral/melt :math:`K_\phi` for olivine (``ol``), orthopyroxene (``opx``), clinopyroxene
    (``cpx``) and garnet (``gt``), 25 incompatible elements (Rb … Lu), compiled by Gibson, S.A. &
    Geist, D.J. (2010) *Geochemical and geophysical estimates of lithospheric thickness variation
    beneath Galápagos*, Earth Planet. Sci. Lett. 300:275–286, doi:10.1016/j.epsl.2010.10.002; typed
    from the public transcription in pyMelt's chemistry data (Matthews et al. 2022, Volcanica
    5:469–475), checked number by number against that transcription, not against the paper
    (tag **[V]** in the sense of ``_reference.py``). Spinel (``sp``) values are the default
    spinel/melt coefficients of alphaMELTS as given in the same transcription (source
    ``alphamelts_default``; 0.01 for the REE and Y, 0.15 for Ti, 0 for the HFSE, Th, U, Pb, Sr) —
    spinel is 2 % of the DMM mode, so its values barely affect bulk D.

    These are **not** the mineral/melt values of Workman & Hart (2005): those were not available
    here (neither in the science notes nor in a checked transcription). With the DMM mode below they
    give bulk D within a factor 0.4–1.8 of the Workman & Hart bulk row for 24 of 25 elements
    (Rb: 28×, Rb is ≈ 0 in both) — see ``docs/methods/melting.md``.

Modes
-----
``"DMM"``
    Spinel-field modal mineralogy of the depleted MORB mantle used by Workman & Hart (2005, EPSL
    231:53–72): 57 % ol, 28 % opx, 13 % cpx, 2 % sp (mass fractions). Tag **[K]**: standard
    literature value, not checked against the paper's text here.

No garnet-field mode and no melting-reaction (non-modal) coefficients :math:`p_\phi` are tabulated:
the science notes give none with a checked source. Give them as a mapping to
:func:`petroinfer.geochem.bulk_partition_coefficient`.
"""

from __future__ import annotations

import pandas as pd

from petroinfer.composition._reference import _listing, _phases, _resolve, _table
from petroinfer.errors import InputError

__all__ = [
    "list_mineral_modes",
    "list_mineral_partition_coefficients",
    "mineral_modes",
    "mineral_partition_coefficients",
]

#: Canonical name -> (description, reference, accepted aliases).
_KD_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "gibson_geist_2010": (
        "mineral/melt partition coefficients for mantle peridotite (ol, opx, cpx, gt, sp)",
        "Gibson & Geist (2010) EPSL 300:275-286 (ol, opx, cpx, gt); alphaMELTS default (sp)",
        ("GG2010", "gibson-geist-2010", "Gibson & Geist 2010"),
    ),
}
_MODES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "DMM": (
        "spinel-field modal mineralogy of the depleted MORB mantle",
        "Workman & Hart (2005) EPSL 231:53-72",
        ("DMM_WH2005", "depleted MORB mantle", "spinel lherzolite DMM"),
    ),
}


def list_mineral_partition_coefficients() -> pd.DataFrame:
    """The mineral/melt partition-coefficient tables available by name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``; columns ``description``, ``reference``, ``aliases``, ``phases``.

    Examples
    --------
    >>> list_mineral_partition_coefficients().loc["gibson_geist_2010", "phases"]
    'ol;opx;cpx;gt;sp'
    """
    t = _table("mineral_partition_coefficients.csv")
    return _listing(_KD_TABLES, phases=_phases(t, _KD_TABLES))


def mineral_partition_coefficients(
    name: str = "gibson_geist_2010", elements: list[str] | None = None
) -> pd.DataFrame:
    r"""Mineral/melt partition coefficients :math:`K_\phi` by table name (phase × element).

    Parameters
    ----------
    name : str, default "gibson_geist_2010"
        Table name or alias (see :func:`list_mineral_partition_coefficients`).
    elements : list of str, optional
        Columns to return, in this order; an element the table lacks is an :class:`InputError`.

    Returns
    -------
    pandas.DataFrame
        Rows are phases (index ``phase``: ``ol``, ``opx``, ``cpx``, ``gt``, ``sp``), columns are
        elements, values dimensionless (concentration in mineral / concentration in melt);
        ``attrs["units"] = "1"``, ``attrs["reference"]`` the citation, ``attrs["source"]`` maps each
        phase to where its row was typed from (module docstring).

    Raises
    ------
    ModelError
        For an unknown table name (the message lists the known names).
    InputError
        For a requested element the table does not hold.

    Notes
    -----
    Bulk coefficients of a mode :math:`x_\phi` are :math:`D_i = \sum_\phi x_\phi K_{\phi,i}`
    (Shaw 1970, Geochim. Cosmochim. Acta 34:237–243), see
    :func:`petroinfer.geochem.bulk_partition_coefficient`.

    Examples
    --------
    >>> K = mineral_partition_coefficients()
    >>> K.index.tolist(), float(K.loc["cpx", "La"]), float(K.loc["gt", "Yb"])
    (['ol', 'opx', 'cpx', 'gt', 'sp'], 0.049, 6.6)
    """
    canon = _resolve(name, _KD_TABLES, "mineral/melt partition-coefficient table")
    t = _table("mineral_partition_coefficients.csv")
    t = t[t["table"] == canon]
    order = list(dict.fromkeys(t["element"]))
    phases = list(dict.fromkeys(t["phase"]))
    wide = t.pivot(index="phase", columns="element", values="value").loc[phases, order]
    wide.columns.name = "element"
    if elements is not None:
        missing = [e for e in elements if e not in wide.columns]
        if missing:
            raise InputError(
                f"mineral/melt table {canon!r} has no partition coefficient for this element; "
                f"it covers {order}",
                column=str(missing[0]),
            )
        wide = wide[list(elements)]
    wide = wide.astype(float)
    wide.attrs["units"] = "1"
    wide.attrs["reference"] = _KD_TABLES[canon][1]
    wide.attrs["source"] = dict(t.groupby("phase", sort=False)["source"].first())
    return wide


def list_mineral_modes() -> pd.DataFrame:
    """The mineral modes available by name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``; columns ``description``, ``reference``, ``aliases``.

    Examples
    --------
    >>> list_mineral_modes().index.tolist()
    ['DMM']
    """
    return _listing(_MODES)


def mineral_modes(name: str = "DMM") -> pd.Series:
    """A published mantle mineral mode by name (mass fractions summing to 1).

    Parameters
    ----------
    name : str, default "DMM"
        Mode name or alias (see :func:`list_mineral_modes`).

    Returns
    -------
    pandas.Series
        Mass fraction per phase (index ``phase``), ``attrs["units"] = "1"`` (mass fraction),
        ``attrs["reference"]`` the citation.

    Raises
    ------
    ModelError
        For an unknown name.

    Examples
    --------
    >>> mineral_modes("DMM").to_dict()
    {'ol': 0.57, 'opx': 0.28, 'cpx': 0.13, 'sp': 0.02}
    """
    canon = _resolve(name, _MODES, "mineral mode")
    t = _table("mineral_modes.csv")
    t = t[t["mode"] == canon]
    out = pd.Series(
        t["fraction"].to_numpy(float), index=pd.Index(t["phase"].tolist(), name="phase"), name=canon
    )
    out.attrs["units"] = "1"
    out.attrs["reference"] = _MODES[canon][1]
    return out
