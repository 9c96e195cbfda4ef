"""Canonical chemistry names and alias normalisation (DESIGN.md §2).

Columns are named the way petrologists write them: ``SiO2``, ``FeOT``, ``Fe2O3T``, ``La``,
``Sr87Sr86``, ``XAn``, ``Mg#``. Spellings found in the wild (``SIO2``, ``FeO*``, ``FeO(T)``,
``87Sr/86Sr``, ``SiO2 (wt%)``, ``Rb_ppm``, ``X_alm``) are mapped onto these names by
:func:`canonical_name`. Mineral-prefixed columns (``Grt_SiO2``, ``Bt_XMg``) keep their prefix
(normalised to the Whitney & Evans 2010 abbreviation) and have the rest normalised.

The vocabulary is data, not logic: edit the tuples below to extend it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

__all__ = [
    "ENDMEMBERS",
    "ISOTOPE_RATIOS",
    "MAJOR_OXIDES",
    "METADATA_COLUMNS",
    "MINERAL_ABBREVIATIONS",
    "REE",
    "UNIT_ALIASES",
    "ParsedName",
    "canonical_name",
    "closest_names",
    "element_symbols",
    "is_isotope_ratio",
    "known_names",
    "misspelled_columns",
    "misspelled_message",
    "name_category",
    "normalise_columns",
    "parse_column",
    "parse_unit",
    "select_prefix",
    "split_prefix",
    "split_unit",
    "suspect_misspelling",
]

#: Oxides (and anions/volatiles reported alongside them) in the usual order of an analysis.
MAJOR_OXIDES: tuple[str, ...] = (
    "SiO2", "TiO2", "Al2O3", "Cr2O3", "V2O3", "V2O5", "Fe2O3", "FeO", "FeOT", "Fe2O3T",
    "MnO", "Mn2O3", "NiO", "CoO", "ZnO", "CuO", "MgO", "CaO", "SrO", "BaO", "PbO", "Li2O",
    "Na2O", "K2O", "Rb2O", "Cs2O", "P2O5", "ZrO2", "HfO2", "Nb2O5", "Ta2O5", "SnO2", "Sc2O3",
    "Y2O3", "La2O3", "Ce2O3", "Pr2O3", "Nd2O3", "Sm2O3", "Gd2O3", "Dy2O3", "ThO2", "UO2",
    "B2O3", "BeO", "Ga2O3", "GeO2", "As2O5", "Sb2O3", "WO3", "MoO3", "Cl2O", "SO3",
)  # fmt: skip
#: Volatile components, removed by :func:`~petroinfer.composition.renormalise_volatile_free`.
VOLATILES: tuple[str, ...] = ("H2O", "H2O+", "H2O-", "CO2", "SO2", "S", "F", "Cl", "LOI")
#: Rare-earth elements (La–Lu, plus Y which behaves as a heavy REE).
REE: tuple[str, ...] = (
    "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
)  # fmt: skip
#: Radiogenic and stable isotope ratios (not parts of a composition, never closed).
ISOTOPE_RATIOS: tuple[str, ...] = (
    "Sr87Sr86", "Nd143Nd144", "Pb206Pb204", "Pb207Pb204", "Pb208Pb204", "Pb207Pb206",
    "Pb208Pb206", "Hf176Hf177", "Os187Os188", "Rb87Sr86", "Sm147Nd144", "Lu176Hf177",
    "Re187Os188", "U238Pb204", "Th232Pb204", "He3He4", "Ar40Ar36",
)  # fmt: skip
#: Delta and epsilon notation (per mil / parts in 10^4; may be negative).
DELTA_VALUES: tuple[str, ...] = (
    "eNd",
    "eHf",
    "d18O",
    "d13C",
    "d34S",
    "d7Li",
    "d11B",
    "d26Mg",
    "d56Fe",
    "dD",
)
#: Mineral end-member fractions and site ratios (mole fractions, 0–1).
ENDMEMBERS: tuple[str, ...] = (
    # garnet
    "XAlm", "XPrp", "XGrs", "XSps", "XAdr", "XUv",
    # biotite / micas
    "XMg", "XFe", "XAnn", "XPhl", "XEast", "XSid", "XMs", "XPg", "XCel", "XMrg",
    # feldspars
    "XAn", "XAb", "XOr",
    # olivine, pyroxene, spinel, amphibole
    "XFo", "XFa", "XEn", "XFs", "XWo", "XJd", "XDi", "XHd", "XCr", "XCa", "XMn", "XNa", "XK",
    "XFe3", "Mg#", "Cr#",
)  # fmt: skip
#: Sums and bookkeeping columns of an analysis.
TOTALS: tuple[str, ...] = ("Total", "CationSum")
#: Non-compositional columns that commonly accompany analyses (kept, never validated as numbers).
METADATA_COLUMNS: tuple[str, ...] = (
    "Sample", "Mineral", "Phase", "Reference", "Location", "Site", "Section", "Point", "Spot",
    "Comment", "Description", "Lithology", "RockType", "Class", "Type", "Date", "Age",
    "Latitude", "Longitude", "Easting", "Northing", "Elevation", "Depth", "Distance", "Grain",
    "Line", "Analysis", "Method", "Label",
)  # fmt: skip
#: Mineral abbreviations accepted as column prefixes (Whitney & Evans 2010, Am. Mineral. 95:185).
MINERAL_ABBREVIATIONS: tuple[str, ...] = (
    "Grt", "Bt", "Ms", "Pl", "Kfs", "Fsp", "Qz", "Ol", "Opx", "Cpx", "Px", "Amp", "Hbl", "Chl",
    "St", "Ky", "Sil", "And", "Als", "Crd", "Spl", "Sp", "Ilm", "Mag", "Hem", "Rt", "Ttn", "Ep",
    "Zo", "Czo", "Phe", "Ph", "Pg", "Mnz", "Zrn", "Ap", "Tur", "Cal", "Dol", "Ctd", "Lws", "Gln",
    "Omp", "Jd", "Di", "Aug", "Liq", "Melt", "Gl", "Glass", "WR", "Mca", "Mica", "Crn", "Prp",
    "Alm", "Chr", "Mt", "Gt", "Gar", "Biot", "Plag", "Musc",
)  # fmt: skip
# informal spellings of prefixes → Whitney & Evans abbreviation
_PREFIX_ALIASES: dict[str, str] = {
    "gt": "Grt", "gar": "Grt", "garnet": "Grt", "biot": "Bt", "bi": "Bt", "biotite": "Bt",
    "plag": "Pl", "plagioclase": "Pl", "musc": "Ms", "mu": "Ms", "muscovite": "Ms", "mt": "Mag",
    "gl": "Glass", "liq": "Liq", "melt": "Liq", "wr": "WR", "sp": "Spl",
    "mica": "Mca",
}  # fmt: skip

_SKIP_ELEMENTS = {"n", "D", "T"}
#: Unit spellings found in headers and units rows (lower case, no spaces) → canonical unit.
UNIT_ALIASES: dict[str, str] = {
    "wt%": "wt%", "wt.%": "wt%", "wt": "wt%", "wtpct": "wt%", "pct": "wt%", "%": "wt%",
    "percent": "wt%", "ppm": "ppm", "µg/g": "ppm", "ug/g": "ppm", "mg/kg": "ppm",
    "ppb": "ppb", "ng/g": "ppb", "apfu": "apfu", "mol": "mol", "mol%": "mol%", "molfrac": "mol",
    "permil": "permil", "‰": "permil",
}  # fmt: skip
_UNITS = UNIT_ALIASES  # private alias kept while other packages switch to the public name


@dataclass(frozen=True)
class ParsedName:
    """A parsed column header: optional mineral ``prefix``, canonical ``name`` and ``unit``.

    ``name`` is ``None`` when the header is not part of the vocabulary.

    Parameters
    ----------
    prefix : str | None
        Mineral prefix (Whitney & Evans 2010 abbreviation) or ``None``.
    name : str | None
        Canonical name, or ``None`` when the header is not in the vocabulary.
    unit : str | None
        Unit found in the header (``"wt%"``, ``"ppm"``...) or ``None``.
    original : str
        The header as written.
    """

    prefix: str | None
    name: str | None
    unit: str | None
    original: str

    @property
    def column(self) -> str:
        """The canonical column name (prefix joined with ``_``), or the stripped original."""
        if self.name is None:
            return self.original.strip()
        return f"{self.prefix}_{self.name}" if self.prefix else self.name


@lru_cache(maxsize=1)
def element_symbols() -> tuple[str, ...]:
    """Chemical element symbols H–Pu (Z = 1–94) in order of atomic number.

    Returns
    -------
    tuple of str
        Symbols as written in chemistry (case-sensitive: ``"Co"`` is cobalt, ``"CO"`` is not an
        element), from :mod:`periodictable` (IUPAC).

    Examples
    --------
    >>> element_symbols()[:3], len(element_symbols())
    (('H', 'He', 'Li'), 94)
    """
    import periodictable

    return tuple(
        e.symbol
        for e in periodictable.elements
        if 1 <= e.number <= 94 and e.symbol not in _SKIP_ELEMENTS
    )


_elements = element_symbols  # private alias kept while other packages switch to the public name


def _key(text: str) -> str:
    """Case- and punctuation-insensitive lookup key (``+`` and ``#`` are kept)."""
    return re.sub(r"[\s_\-.()\[\]{}/,:;]", "", text).lower()


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], dict[str, str]]:
    """(lookup key → canonical name, canonical name → category)."""
    category: dict[str, str] = {}
    for name in MAJOR_OXIDES:
        category[name] = "oxide"
    for name in VOLATILES:
        category[name] = "volatile"
    for name in element_symbols():
        category.setdefault(name, "element")
    for name in REE:
        category[name] = "ree"
    category["Y"] = "element"
    category["Fe2+"] = category["Fe3+"] = "element"  # iron species of a structural formula
    for name in ISOTOPE_RATIOS:
        category[name] = "isotope"
    for name in DELTA_VALUES:
        category[name] = "delta"
    for name in ENDMEMBERS:
        category[name] = "endmember"
    for name in TOTALS:
        category[name] = "total"
    for name in METADATA_COLUMNS:
        category[name] = "metadata"
    # F and Cl are elements, but in an analysis they are volatiles reported beside the oxides
    category["F"] = category["Cl"] = category["S"] = "volatile"

    lookup: dict[str, str] = {}
    for name in category:
        lookup.setdefault(_key(name), name)
    # element symbols are case-sensitive in chemistry; a key clash keeps the first entry, so
    # oxides and canonical symbols win; register explicit aliases afterwards.
    aliases = {
        "FeOT": [
            "feo*",
            "feot",
            "feotot",
            "feototal",
            "feo(t)",
            "feo_t",
            "feo(tot)",
            "σfeo",
            "sumfeo",
            "totalfeo",
            "feototal",
            "tfeo",
            "feo_tot",
        ],
        "Fe2O3T": [
            "fe2o3*",
            "fe2o3t",
            "fe2o3tot",
            "fe2o3total",
            "fe2o3(t)",
            "tfe2o3",
            "σfe2o3",
            "totalfe2o3",
            "fe2o3_tot",
        ],
        "H2O+": ["h2o+", "h2oplus", "h2o_plus"],
        "H2O-": ["h2o-", "h2ominus", "h2o_minus"],
        "LOI": ["loi", "lossonignition", "l.o.i."],
        "Total": ["total", "sum", "tot", "oxidetotal", "totals", "totalwt%"],
        "CationSum": [
            "cationsum",
            "cations",
            "totcat",
            "sumcat",
            "sumcations",
            "totalcations",
            "cationtotal",
        ],
        "Fe2+": ["fe2", "fe2+", "feii", "fe++"],
        "Fe3+": ["fe3", "fe3+", "feiii", "fe+++"],
        "Mg#": ["mg#", "mgnumber", "mgno", "mgnum", "mg-number", "mg_no", "mgn"],
        "Cr#": ["cr#", "crnumber", "crno", "crnum"],
        "XAlm": ["xalm", "alm", "xal"],
        "XPrp": ["xprp", "xpy", "xpyr", "xpyp", "prp", "pyr"],
        "XGrs": ["xgrs", "xgr", "xgro", "xgross", "grs"],
        "XSps": ["xsps", "xsp", "xspe", "xspess", "sps"],
        "XAdr": ["xadr", "xand", "xandr", "adr"],
        "XAn": ["xan", "an"],
        "XAb": ["xab", "ab"],
        "XOr": ["xor", "or", "xkfs"],
        "XAnn": ["xann", "ann"],
        "XPhl": ["xphl", "phl", "xphlog"],
        "XEast": ["xeast", "xeas", "xeastonite", "east"],
        "XMs": ["xms", "xmu", "xmusc"],
        "XPg": ["xpg", "xpa", "xpar"],
        "XCel": ["xcel", "cel"],
        "XMg": ["xmg", "x(mg)"],
        "XFe": ["xfe", "x(fe)"],
        "Sample": [
            "sample",
            "sampleid",
            "sampleno",
            "sampno",
            "samplename",
            "sample#",
            "id",
            "analysisid",
            "specimen",
            "name",
            "sampnum",
        ],
        "Latitude": ["lat", "latitude"],
        "Longitude": ["lon", "long", "longitude"],
        "Mineral": ["mineral", "mineralname"],
        "Point": ["point", "pointno"],
        "RockType": ["rocktype", "rock", "rockname"],
    }
    canonical_keys = set(lookup)
    for canonical, spellings in aliases.items():
        for s in spellings:
            # the exact (lower-case) spelling always works; its punctuation-free key only where
            # it does not shadow a canonical name (H2O- must not capture H2O)
            lookup["raw:" + re.sub(r"\s", "", s).lower()] = canonical
            if _key(s) not in canonical_keys:
                lookup[_key(s)] = canonical
    # isotope ratios in every common order: 87Sr/86Sr, Sr87/Sr86, 87Sr86Sr, Sr87Sr86
    for name in ISOTOPE_RATIOS:
        m = re.fullmatch(r"([A-Z][a-z]?)(\d+)([A-Z][a-z]?)(\d+)", name)
        if m:
            e1, a1, e2, a2 = m.groups()
            for s in (f"{a1}{e1}/{a2}{e2}", f"{e1}{a1}/{e2}{a2}", f"{a1}{e1}{a2}{e2}"):
                lookup[_key(s)] = name
    for name in DELTA_VALUES:
        m = re.fullmatch(r"([de])(\d*)([A-Z][a-z]?)", name)
        if m:
            sym = "δ" if m.group(1) == "d" else "ε"
            lookup[_key(f"{sym}{m.group(2)}{m.group(3)}")] = name
            lookup[
                _key(f"{'delta' if m.group(1) == 'd' else 'epsilon'}{m.group(2)}{m.group(3)}")
            ] = name
    return lookup, category


def known_names(category: str | Iterable[str] | None = None) -> list[str]:
    """Canonical names, optionally only those of one or more categories.

    Categories: ``oxide``, ``volatile``, ``element``, ``ree``, ``isotope``, ``delta``,
    ``endmember``, ``total``, ``metadata``.

    Parameters
    ----------
    category : str | Iterable[str] | None
        One category or several; ``None`` for all names.
    """
    _, cats = _tables()
    if category is None:
        return list(cats)
    wanted = {category} if isinstance(category, str) else set(category)
    return [n for n, c in cats.items() if c in wanted]


_UNIT_RE = re.compile(
    r"^(?P<name>.*?)[\s_]*(?:[(\[{]\s*(?P<u1>[^()\[\]{}]+?)\s*[)\]}]|[\s_](?P<u2>wt\.?\s?%|wtpct"
    r"|wt|pct|ppm|ppb|apfu|mol%|mol|µg/g|ug/g|mg/kg|ng/g|permil|‰))\s*$",
    re.IGNORECASE,
)


def split_unit(text: str) -> tuple[str, str | None]:
    """Split a unit suffix off a column header.

    Parameters
    ----------
    text : str
        A header such as ``"SiO2 (wt%)"``, ``"Rb_ppm"``, ``"Au [ppb]"`` or ``"SiO2%"``.

    Returns
    -------
    name : str
        The header without its unit (unchanged when no unit is recognised).
    unit : str or None
        Canonical unit (a value of :data:`UNIT_ALIASES`) or ``None``.

    Examples
    --------
    >>> split_unit("SiO2 (wt%)"), split_unit("Rb_ppm"), split_unit("SiO2")
    (('SiO2', 'wt%'), ('Rb', 'ppm'), ('SiO2', None))
    """
    m = _UNIT_RE.match(text)
    if m:
        unit_raw = (m.group("u1") or m.group("u2") or "").lower().replace(" ", "")
        unit = UNIT_ALIASES.get(unit_raw)
        if unit is not None and m.group("name").strip():
            return m.group("name").strip(), unit
    # "SiO2%" or "SiO2 %"
    if text.endswith("%") and len(text) > 1 and not text.lower().endswith("mol%"):
        return text[:-1].strip(), "wt%"
    return text, None


_strip_unit = split_unit  # private alias kept while other packages switch to the public name


def parse_unit(token: object) -> str | None:
    """Canonical unit of a unit token (``"wt.%"`` → ``"wt%"``, ``"µg/g"`` → ``"ppm"``), else ``None``.

    Brackets and spaces around the token are ignored; the match is case-insensitive. Used to
    recognise a units row under a table header.

    Parameters
    ----------
    token : object
        A cell of a units row or a unit suffix.

    Examples
    --------
    >>> parse_unit("(wt.%)"), parse_unit("µg/g"), parse_unit("SiO2")
    ('wt%', 'ppm', None)
    """
    if token is None or (isinstance(token, float) and token != token):
        return None
    text = str(token).strip().strip("()[]{}").strip().lower().replace(" ", "")
    return UNIT_ALIASES.get(text)


def _lookup(text: str) -> str | None:
    lookup, cats = _tables()
    stripped = text.strip()
    if stripped in cats:  # exact canonical spelling (case-sensitive: Co vs CO)
        return stripped
    raw = re.sub(r"\s", "", stripped).lower()
    if "raw:" + raw in lookup:
        return lookup["raw:" + raw]
    if raw in lookup:
        return lookup[raw]
    return lookup.get(_key(stripped))


def _prefix(text: str) -> str | None:
    low = text.lower()
    if low in _PREFIX_ALIASES:
        return _PREFIX_ALIASES[low]
    for abbr in MINERAL_ABBREVIATIONS:
        if abbr.lower() == low:
            return abbr
    return None


def split_prefix(name: str) -> tuple[str | None, str]:
    """Split a mineral prefix off a column name.

    Parameters
    ----------
    name : str
        A column header such as ``"Grt_SiO2"``, ``"bt-XMg"``, ``"Pl XAn"`` or ``"SiO2"``.

    Returns
    -------
    (prefix, rest):
        The Whitney & Evans (2010) abbreviation (``"Grt"``) or ``None``, and the remainder of the
        name, normalised to its canonical spelling when it is known.

    Examples
    --------
    >>> split_prefix("Grt_SiO2")
    ('Grt', 'SiO2')
    >>> split_prefix("bt_xmg")
    ('Bt', 'XMg')
    >>> split_prefix("FeO*")
    (None, 'FeOT')
    """
    p = parse_column(name)
    if p.name is None:
        return None, name.strip()
    return p.prefix, p.name


@lru_cache(maxsize=4096)
def parse_column(name: str) -> ParsedName:
    """Parse a column header into (mineral prefix, canonical name, unit).

    Recognises unit suffixes (``SiO2 (wt%)``, ``SiO2 [wt.%]``, ``Rb_ppm``, ``Au_ppb``,
    ``Cr_apfu``), total-iron spellings (``FeO*``, ``FeOt``, ``FeO(T)``, ``FeOtot``, ``Fe2O3(T)``),
    isotope ratios (``87Sr/86Sr``, ``Sr87/Sr86``), case variants (``SIO2``, ``sio2``) and mineral
    prefixes (``Grt_SiO2``, ``Bt_XMg``; separator ``_``, ``-``, ``.`` or a space).

    Examples
    --------
    >>> parse_column("SiO2 (wt%)")
    ParsedName(prefix=None, name='SiO2', unit='wt%', original='SiO2 (wt%)')
    >>> parse_column("Grt_FeO(T)").column
    'Grt_FeOT'
    """
    text = str(name).strip()
    body, unit = split_unit(text)
    canon = _lookup(body)
    if canon is not None:
        return ParsedName(None, canon, unit, text)
    m = re.match(r"^([A-Za-z]+)[\s_\-.]+(.+)$", body)
    if m:
        prefix = _prefix(m.group(1))
        if prefix is not None:
            rest, unit2 = split_unit(m.group(2).strip())
            canon = _lookup(rest)
            if canon is not None:
                return ParsedName(prefix, canon, unit or unit2, text)
    # suffix form "SiO2_Grt" (Thermobar style)
    m = re.match(r"^(.+?)[\s_\-.]+([A-Za-z]+)$", body)
    if m:
        prefix = _prefix(m.group(2))
        canon = _lookup(m.group(1))
        if prefix is not None and canon is not None:
            return ParsedName(prefix, canon, unit, text)
    return ParsedName(None, None, unit, text)


def select_prefix(df: pd.DataFrame, prefix: str | None, *, strip: bool = True) -> pd.DataFrame:
    """Columns of one mineral (``prefix="Grt"`` picks ``Grt_SiO2``, ``grt-MgO``, ``SiO2_Grt``).

    Parameters
    ----------
    df : DataFrame
        Table with mineral-prefixed columns; it is not modified.
    prefix : str | None
        Mineral abbreviation (any accepted spelling: ``"Grt"``, ``"gt"``, ``"garnet"``) or
        ``None`` for the unprefixed columns.
    strip : bool
        Return canonical names without the prefix (``SiO2``) instead of ``Grt_SiO2``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Grt_SiO2": [37.0], "Bt_SiO2": [35.0], "grt-MgO": [4.0]})
    >>> list(select_prefix(df, "garnet").columns)
    ['SiO2', 'MgO']
    """
    wanted = None if prefix is None else (_prefix(str(prefix)) or str(prefix))
    cols, names = [], []
    for col in df.columns:
        p = parse_column(str(col))
        if p.name is not None and p.prefix == wanted:
            cols.append(col)
            names.append(p.name if strip else p.column)
    out = df[cols].copy()
    out.columns = names
    return out


def canonical_name(name: str, *, strict: bool = False) -> str | None:
    """The canonical spelling of a column name.

    Parameters
    ----------
    name : str
        Any header (``"SIO2"``, ``"FeO*"``, ``"87Sr/86Sr"``, ``"Grt_XAlm"``, ``"Rb (ppm)"``).
    strict : bool
        If True, return ``None`` for unknown names; otherwise return the stripped input.

    Returns
    -------
    str or None
        The canonical name; normalisation is idempotent
        (``canonical_name(canonical_name(x)) == canonical_name(x)``).

    Examples
    --------
    >>> canonical_name("FeO*"), canonical_name("87Sr/86Sr"), canonical_name("sio2 (wt%)")
    ('FeOT', 'Sr87Sr86', 'SiO2')
    >>> canonical_name("Al203", strict=True) is None
    True
    """
    parsed = parse_column(str(name))
    if parsed.name is None:
        return None if strict else str(name).strip()
    return parsed.column


def name_category(name: str) -> str | None:
    """Category of a (possibly prefixed or aliased) column name, or ``None`` if unknown.

    Parameters
    ----------
    name : str
        Any header (aliases and mineral prefixes are resolved).

    Examples
    --------
    >>> name_category("Grt_SiO2"), name_category("La"), name_category("87Sr/86Sr")
    ('oxide', 'ree', 'isotope')
    """
    parsed = parse_column(str(name))
    if parsed.name is None:
        return None
    return _tables()[1][parsed.name]


def closest_names(name: str, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """Closest known names to an unknown header, for error messages.

    Similarity is the :class:`difflib.SequenceMatcher` ratio of the lower-cased names (also
    trying the digit ``0`` read as the letter ``O``), plus 0.15 when the leading element symbol
    agrees.

    Parameters
    ----------
    name : str
        An unknown header.
    n : int
        Number of suggestions returned.
    cutoff : float
        Smallest similarity (0–1) for a suggestion.

    Examples
    --------
    >>> closest_names("Al203"), closest_names("SiO3")
    (['Al2O3'], ['SiO2'])
    """
    body, _ = split_unit(str(name).strip())
    variants = {body.lower(), body.replace("0", "O").lower()}
    lead = re.match(r"[A-Z][a-z]?", body[:1].upper() + body[1:2].lower())
    scored: list[tuple[float, str]] = []
    for cand in known_names():
        sm = max(difflib.SequenceMatcher(None, v, cand.lower()).ratio() for v in variants)
        m = re.match(r"[A-Z][a-z]?", cand)
        if lead and m and m.group(0) == lead.group(0) and len(body) > 1:
            sm += 0.15
        if sm >= cutoff:
            scored.append((sm, cand))
    scored.sort(key=lambda t: -t[0])
    return [c for _, c in scored[:n]]


def normalise_columns(
    df: pd.DataFrame, *, errors: str = "ignore", mapping: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Return a copy of ``df`` with recognised headers renamed to canonical names.

    Parameters
    ----------
    df : DataFrame
        Any table; it is not modified.
    errors : str
        ``"ignore"`` keeps unknown headers as they are; ``"raise"`` raises
        :class:`~petroinfer.errors.InputError` listing them with suggestions.
    mapping : Mapping[str, str] | None
        Explicit renames applied first (user overrides of the vocabulary).

    Returns
    -------
    DataFrame
        Renamed copy. Units found in headers are stored in ``out.attrs["units"]``
        (``{column: unit}``). Two headers normalising to the same name raise ``InputError``.
    """
    from petroinfer.errors import InputError

    mapping = dict(mapping or {})
    new_cols: list[str] = []
    units: dict[str, str] = dict(df.attrs.get("units", {}))
    unknown: list[str] = []
    for col in df.columns:
        if col in mapping:
            new_cols.append(mapping[col])
            continue
        parsed = parse_column(str(col))
        if parsed.name is None:
            unknown.append(str(col))
            new_cols.append(str(col).strip() if isinstance(col, str) else col)
        else:
            new_cols.append(parsed.column)
        if parsed.unit is not None:
            units[new_cols[-1]] = parsed.unit
    if errors == "raise" and unknown:
        raise InputError(_unknown_message(unknown), column=unknown[0])
    seen: dict[str, str] = {}
    for old, new in zip(df.columns, new_cols, strict=True):
        if new in seen:
            raise InputError(
                f"columns {seen[new]!r} and {old!r} both mean {new!r}; keep one of them",
                column=str(old),
            )
        seen[new] = str(old)
    out = df.copy()
    out.columns = new_cols
    out.attrs = {**df.attrs, "units": units}
    return out


def _unknown_message(unknown: list[str]) -> str:
    parts = []
    for u in unknown:
        hint = closest_names(u)
        parts.append(f"{u!r}" + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    return (
        "unknown column name(s): "
        + ", ".join(parts)
        + "; rename them, or pass them as ignore=... / --ignore if they are not compositional"
    )


_RATIO_RE = re.compile(r"^([A-Z][a-z]?)(\d{1,3})([A-Z][a-z]?)(\d{1,3})$")
#: Categories whose members are measured chemistry (a near-miss of one of them is a likely typo).
_CHEMISTRY = frozenset({"oxide", "volatile", "element", "ree", "isotope"})


def is_isotope_ratio(name: str) -> bool:
    """Whether a column name is an isotope ratio (``Sr87Sr86``, ``87Sr/86Sr``, ``Ar40Ar39``).

    Parameters
    ----------
    name : str
        Any header; known ratios in any common spelling are recognised through
        :func:`canonical_name`, and other ``<El><A><El><A>`` names when each mass number
        :math:`A` is at least the element's atomic number :math:`Z` (so the oxide ``Fe2O3``,
        with :math:`A = 2 < Z_{Fe} = 26`, is not a ratio).

    Returns
    -------
    bool
        Isotope ratios are not parts of a composition: they are never closed or log-ratioed
        together with abundances (DESIGN.md §2).

    Examples
    --------
    >>> is_isotope_ratio("87Sr/86Sr"), is_isotope_ratio("Ar40Ar39"), is_isotope_ratio("Fe2O3")
    (True, True, False)
    """
    if name_category(str(name)) == "isotope":
        return True
    m = _RATIO_RE.match(str(name).strip())
    if not m:
        return False
    symbols = element_symbols()
    e1, a1, e2, a2 = m.groups()
    if e1 not in symbols or e2 not in symbols:
        return False
    return int(a1) >= symbols.index(e1) + 1 and int(a2) >= symbols.index(e2) + 1


def _known(text: str) -> str | None:
    """Canonical name of ``text`` when it is a chemistry name (not metadata/totals), else None."""
    canon = canonical_name(text, strict=True)
    if canon is None or name_category(canon) not in _CHEMISTRY:
        return None
    if name_category(canon) in {"element", "ree"} and canon.lower() != text.lower():
        return None
    return canon


def suspect_misspelling(name: str) -> str | None:
    """The chemistry name an unknown header most likely misspells, or ``None``.

    Deliberately narrow, so that ordinary metadata headers (``Ref``, ``Run``, ``Time``, ``Year``)
    are never taken for typos. A header is suspect when it is not in the vocabulary and

    1. reading the digit ``0`` as the letter ``O`` gives a known name (``Mg0``, ``Al203``,
       ``Si02``, ``H20``);
    2. dropping a doubled last letter gives a known name (``Zrr``, ``Rbb``, ``MgOO``);
    3. it is written like an oxide formula (element symbols, digits, ``O``) but is not a known
       oxide, and a known oxide of the same cation exists; the closest one is suggested
       (``SiO3`` → ``SiO2``, ``Al2O4`` → ``Al2O3``).

    Parameters
    ----------
    name : str
        A column header (a unit suffix such as ``" (ppm)"`` is ignored).

    Returns
    -------
    str or None
        The suggested canonical name.

    Examples
    --------
    >>> suspect_misspelling("Mg0"), suspect_misspelling("Zrr"), suspect_misspelling("SiO3")
    ('MgO', 'Zr', 'SiO2')
    >>> suspect_misspelling("Ref") is None, suspect_misspelling("MgO") is None
    (True, True)
    """
    text = str(name).strip()
    if parse_column(text).name is not None:
        return None
    body, _ = split_unit(text)
    body = body.strip()
    if len(body) < 2:
        return None
    if "0" in body and not body.replace("0", "").isdigit():
        hit = _known(body.replace("0", "O"))
        if hit is not None:
            return hit
    if body[-1].isalpha() and body[-1].lower() == body[-2].lower():
        hit = _known(body[:-1])
        if hit is not None:
            return hit
    m = re.fullmatch(r"((?:[A-Z][a-z]?\d*)+?)O\d*T?", body)
    if m:
        symbols = set(element_symbols())
        cations = re.findall(r"[A-Z][a-z]?", m.group(1))
        if cations and all(c in symbols and c != "O" for c in cations):
            same = [
                ox
                for ox in known_names("oxide")
                if re.findall(r"[A-Z][a-z]?", ox.rstrip("T"))[:-1] == cations
            ]
            close = difflib.get_close_matches(body, same, n=1, cutoff=0.5)
            if close:
                return close[0]
    return None


def misspelled_columns(columns: Iterable[object], *, ignore: Iterable[str] = ()) -> dict[str, str]:
    """Headers that look like misspelled chemistry names, with the suggested name.

    Parameters
    ----------
    columns : iterable
        Column headers of a table.
    ignore : iterable of str
        Headers declared as metadata (never reported).

    Returns
    -------
    dict
        ``{header: suggestion}`` in column order (see :func:`suspect_misspelling`).

    Examples
    --------
    >>> misspelled_columns(["Sample", "SiO2", "Mg0", "Zrr", "Ref"])
    {'Mg0': 'MgO', 'Zrr': 'Zr'}
    >>> misspelled_columns(["Mg0"], ignore=["Mg0"])
    {}
    """
    skip = {str(c) for c in ignore}
    out: dict[str, str] = {}
    for col in columns:
        if str(col) in skip:
            continue
        hit = suspect_misspelling(str(col))
        if hit is not None:
            out[str(col)] = hit
    return out


def misspelled_message(found: Mapping[str, str], *, option: str = "ignore") -> str:
    """One-line message for :func:`misspelled_columns` hits (used by every table check).

    Parameters
    ----------
    found : Mapping[str, str]
        ``{header: suggestion}`` as returned by :func:`misspelled_columns`.
    option : str
        Name of the option that declares metadata columns (``ignore``).

    Examples
    --------
    >>> misspelled_message({"Mg0": "MgO"}).split(";")[0]
    "column 'Mg0' (did you mean 'MgO'?) looks like a misspelled chemistry name"
    """
    parts = [f"{k!r} (did you mean {v!r}?)" for k, v in found.items()]
    noun = "column" if len(parts) == 1 else "columns"
    verb = "looks" if len(parts) == 1 else "look"
    return (
        f"{noun} {', '.join(parts[:1]) if len(parts) == 1 else ', '.join(parts)} {verb} like "
        f"{'a misspelled chemistry name' if len(parts) == 1 else 'misspelled chemistry names'}"
        f"; rename {'it' if len(parts) == 1 else 'them'}, or declare "
        f"{'it' if len(parts) == 1 else 'them'} as metadata with {option}={list(found)} "
        "(--ignore on the command line)"
    )
