r"""Reference compositions and partition-coefficient tables by name (DESIGN.md §1, §9 "pyrolite").

The values are published constants, typed into two package-data tables under
``petroinfer/composition/data/`` (``reference_compositions.csv``, ``partition_coefficients.csv``);
each row records where it was typed from (``source``):

``notes``
    the project's science notes (``geochem.md`` §5, evidence tag **[V]**: checked there against a
    public transcription of the paper);
``transcription``
    the paper's value as transcribed in pyrolite's reference-composition tables
    (``pyrolite/data/geochem/refcomp``), typed in for elements the notes do not list and checked
    number by number against that transcription (tag **[V]** in the same sense). The full texts were
    not available here, so table and page numbers are given only where they could be checked.

Reference compositions
----------------------
``"DMM"``
    Depleted MORB mantle, Workman, R.K. & Hart, S.R. (2005) *Major and trace element composition of
    the depleted MORB mantle (DMM)*, Earth Planet. Sci. Lett. 231:53–72,
    doi:10.1016/j.epsl.2004.12.005 (the paper's DMM summary table; table number not checked).
``"N-MORB"``
    Normal mid-ocean-ridge basalt, Gale, A., Dalton, C.A., Langmuir, C.H., Su, Y. & Schilling, J.-G.
    (2013) *The mean composition of ocean ridge basalts*, Geochem. Geophys. Geosyst. 14:489–518,
    doi:10.1029/2012GC004334 (their N-MORB mean; table number not checked).
``"PM"``
    Primitive mantle of **Sun & McDonough (1989)**, *Chemical and isotopic systematics of oceanic
    basalts: implications for mantle composition and processes*, Geol. Soc. London Spec. Publ.
    42:313–345, doi:10.1144/GSL.SP.1989.042.01.19, Table 1 (the normalising values of the classic
    spider diagram; the same reference as pyrolite's ``PM_SM89``, used by
    :func:`petroinfer.geochem.discrimination.plot_spider`). Not McDonough & Sun (1995).

Major elements are oxides in wt% (iron as total FeO, ``FeOT``); trace elements are elements in ppm
(µg/g). Every returned Series states its units per entry in ``attrs["units"]``.

Partition-coefficient tables
----------------------------
``"workman_hart_2005"``
    Bulk DMM/melt partition coefficients :math:`D_i = \sum_\phi x_\phi K_\phi` of Workman & Hart
    (2005) for 25 incompatible elements, as tabulated in ``geochem.md`` §5 [V]. Only the bulk row
    (phase ``"bulk"``) is available; the mineral/melt :math:`K_\phi` behind it are not in the notes.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from petroinfer.errors import InputError, ModelError

__all__ = [
    "list_partition_coefficients",
    "list_reference_compositions",
    "partition_coefficients",
    "reference_composition",
]

#: Canonical name -> (description, reference, accepted aliases).
_COMPOSITIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "DMM": (
        "depleted MORB mantle",
        "Workman & Hart (2005) EPSL 231:53-72",
        ("DMM_WH2005", "DMM_WorkmanHart2005", "depleted MORB mantle"),
    ),
    "N-MORB": (
        "normal mid-ocean-ridge basalt (mean)",
        "Gale et al. (2013) G-cubed 14:489-518",
        ("NMORB", "N_MORB", "NMORB_Gale2013"),
    ),
    "PM": (
        "primitive mantle (bulk silicate Earth)",
        "Sun & McDonough (1989) Geol. Soc. Spec. Publ. 42:313-345, Table 1",
        ("primitive mantle", "PM_SM89", "PM_SunMcDonough1989"),
    ),
}

_PARTITION_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "workman_hart_2005": (
        "bulk DMM/melt partition coefficients for mantle melting",
        "Workman & Hart (2005) EPSL 231:53-72",
        ("WH2005", "workman-hart-2005", "Workman & Hart 2005"),
    ),
}


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _resolve(name: object, known: dict[str, tuple[str, str, tuple[str, ...]]], what: str) -> str:
    if not isinstance(name, str):
        raise ModelError(f"{what} name must be a string; got {type(name).__name__}")
    for canon, (_, _, aliases) in known.items():
        if _key(name) in {_key(canon), *(_key(a) for a in aliases)}:
            return canon
    raise ModelError(f"unknown {what} {name!r}; known names are {sorted(known)}")


def _table(filename: str) -> pd.DataFrame:
    path = resources.files("petroinfer.composition").joinpath("data", filename)
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def _listing(known: dict[str, tuple[str, str, tuple[str, ...]]], **extra: list) -> pd.DataFrame:
    """The ``list_*`` table of a name registry: description, reference, aliases (+ ``extra`` columns)."""
    return pd.DataFrame(
        {
            "description": [v[0] for v in known.values()],
            "reference": [v[1] for v in known.values()],
            "aliases": [";".join(v[2]) for v in known.values()],
            **extra,
        },
        index=pd.Index(list(known), name="name"),
    )


def _phases(table: pd.DataFrame, known: dict) -> list[str]:
    """``;``-joined phases of each named table of a long partition-coefficient table."""
    return [";".join(dict.fromkeys(table.loc[table["table"] == k, "phase"])) for k in known]


def list_reference_compositions() -> pd.DataFrame:
    """The reference compositions available by name.

    Returns
    -------
    pandas.DataFrame
        Indexed by the canonical ``name``; columns ``description``, ``reference``, ``aliases``
        (``;``-separated other accepted names; matching ignores case, spaces and punctuation) and
        ``n_species`` (number of tabulated oxides and elements).

    Examples
    --------
    >>> list_reference_compositions().index.tolist()
    ['DMM', 'N-MORB', 'PM']
    """
    counts = _table("reference_compositions.csv").groupby("reference").size()
    return _listing(_COMPOSITIONS, n_species=[int(counts.get(k, 0)) for k in _COMPOSITIONS])


def reference_composition(name: str) -> pd.Series:
    """A published reference composition by name (``"DMM"``, ``"N-MORB"``, ``"PM"``).

    Parameters
    ----------
    name : str
        Canonical name or alias (see :func:`list_reference_compositions`); case, spaces and
        punctuation are ignored (``"nmorb"``, ``"Primitive mantle"``, ``"PM_SM89"``).

    Returns
    -------
    pandas.Series
        Indexed by species (oxides such as ``SiO2``, ``FeOT``; elements such as ``La``), named after
        the reservoir. Oxides are in wt%, elements in ppm: ``attrs["units"]`` maps every species to its
        unit, ``attrs["reference"]`` gives the citation and ``attrs["source"]`` maps every species to
        where it was typed from (module docstring).

    Raises
    ------
    ModelError
        For an unknown name; the message lists the known names.

    Notes
    -----
    Values and sources are listed in the module docstring: DMM of Workman & Hart (2005), N-MORB of
    Gale et al. (2013), primitive mantle of Sun & McDonough (1989, Table 1). A chondrite- or
    mantle-normalised pattern is ``data[el] / reference_composition("PM")[el]`` over elements in ppm.

    Examples
    --------
    >>> dmm = reference_composition("DMM")
    >>> float(dmm["La"]), dmm.attrs["units"]["La"], dmm.attrs["units"]["SiO2"]
    (0.192, 'ppm', 'wt%')
    >>> float(reference_composition("primitive mantle")["Yb"])
    0.493
    """
    canon = _resolve(name, _COMPOSITIONS, "reference composition")
    t = _table("reference_compositions.csv")
    t = t[t["reference"] == canon]
    out = pd.Series(
        t["value"].to_numpy(float),
        index=pd.Index(t["species"].tolist(), name="species"),
        name=canon,
    )
    out.attrs["units"] = dict(zip(t["species"], t["unit"], strict=True))
    out.attrs["source"] = dict(zip(t["species"], t["source"], strict=True))
    out.attrs["reference"] = _COMPOSITIONS[canon][1]
    out.attrs["description"] = _COMPOSITIONS[canon][0]
    return out


def list_partition_coefficients() -> pd.DataFrame:
    """The partition-coefficient tables available by name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``name``; columns ``description``, ``reference``, ``aliases``, ``phases``.

    Examples
    --------
    >>> list_partition_coefficients().index.tolist()
    ['workman_hart_2005']
    """
    t = _table("partition_coefficients.csv")
    return _listing(_PARTITION_TABLES, phases=_phases(t, _PARTITION_TABLES))


def partition_coefficients(name: str, elements: list[str] | None = None) -> pd.DataFrame:
    r"""A published table of partition coefficients by name (phase × element, dimensionless).

    Parameters
    ----------
    name : str
        ``"workman_hart_2005"`` (aliases ``"WH2005"``, ...; see :func:`list_partition_coefficients`).
    elements : list of str, optional
        Columns to return, in this order; an element not in the table is an :class:`InputError`.

    Returns
    -------
    pandas.DataFrame
        Rows are phases (index ``phase``; ``"bulk"`` for a bulk solid/melt coefficient), columns are
        elements; ``attrs["units"] = "1"`` (concentration ratio solid/melt, CF-style dimensionless),
        ``attrs["reference"]`` the citation.

    Raises
    ------
    ModelError
        For an unknown table name (the message lists the known names).
    InputError
        For a requested element the table does not hold.

    Notes
    -----
    ``workman_hart_2005``: bulk DMM/melt :math:`D_i = \sum_\phi x_\phi K_\phi` used by Workman & Hart
    (2005, EPSL 231:53–72) for melting of DMM, 25 elements from Rb (:math:`10^{-5}`) to Lu (0.12), as
    tabulated in the science notes (``geochem.md`` §5, [V]). With it, modal batch melting
    (Shaw 1970) gives :math:`C_L/C_0 = 1/(D + F(1 - D))`.

    Examples
    --------
    >>> D = partition_coefficients("workman_hart_2005")
    >>> D.index.tolist(), float(D.loc["bulk", "La"]), D.shape[1]
    (['bulk'], 0.01, 25)
    >>> partition_coefficients("WH2005", elements=["Yb", "Sm"]).to_numpy().tolist()
    [[0.115, 0.045]]
    """
    canon = _resolve(name, _PARTITION_TABLES, "partition-coefficient table")
    t = _table("partition_coefficients.csv")
    t = t[t["table"] == canon]
    wide = t.pivot(index="phase", columns="element", values="value")
    order = list(dict.fromkeys(t["element"]))
    wide = wide.loc[list(dict.fromkeys(t["phase"])), order]
    wide.columns.name = "element"
    if elements is not None:
        missing = [e for e in elements if e not in wide.columns]
        if missing:
            raise InputError(
                f"partition-coefficient table {canon!r} has no value for this element; "
                f"it covers {order}",
                column=str(missing[0]),
            )
        wide = wide[list(elements)]
    wide = wide.astype(float)
    wide.attrs["units"] = "1"
    wide.attrs["reference"] = _PARTITION_TABLES[canon][1]
    return wide
