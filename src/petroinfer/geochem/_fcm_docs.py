"""Shared numpydoc parameter descriptions of the fuzzy c-means estimators (one source of truth)."""

from __future__ import annotations

import inspect

__all__ = ["PARAMETER_DOCS", "fill_parameters"]

PARAMETER_DOCS: dict[str, str] = {
    "n_clusters": (
        '    n_clusters : int or "auto", default "auto"\n'
        '        Number of clusters c, or ``"auto"``: the best ``criterion`` over ``c_range``.\n'
    ),
    "m": (
        '    m : float or "auto", default 2.0\n'
        '        Fuzzifier (> 1); ``"auto"`` chooses it from ``m_grid`` with the same criterion.\n'
    ),
    "preprocessing": (
        '    preprocessing : {"standardise", "log-standardise", "clr", "none"}, default "standardise"\n'
        "        Column transform before clustering: z-scores, z-scores of ln x (positive abundances, e.g.\n"
        "        ppm), the centred log-ratio of :mod:`petroinfer.composition` (complete compositions), or none.\n"
    ),
    "criterion": (
        '    criterion : {"xie_beni", "fuzzy_silhouette", "mpc", "pc", "pe", "fukuyama_sugeno"}\n'
        "        Validity index that chooses c (and m), default Xie\u2013Beni (lowest); all are reported in\n"
        "        ``criterion_``. PC, MPC and PE change monotonically with m, so choose m with Xie\u2013Beni or\n"
        "        the fuzzy silhouette.\n"
    ),
    "c_range": (
        "    c_range : sequence of int, optional\n"
        '        Candidate c for ``n_clusters="auto"`` (default 2 \u2026 min(8, n \u2212 1)).\n'
    ),
    "m_grid": (
        "    m_grid : sequence of float, default (1.5, 2.0, 2.5)\n"
        '        Candidate m for ``m="auto"``.\n'
    ),
    "tol": (
        "    tol : float, default 1e-5\n"
        "        Stop when :math:`\\max_{ik}|u^{(t)}_{ik}-u^{(t-1)}_{ik}|<` tol.\n"
    ),
    "max_iter": ("    max_iter : int, default 300\n        Iteration cap of one run.\n"),
    "n_init": (
        "    n_init : int, default 10\n"
        "        Restarts; the run with the lowest objective is kept.\n"
    ),
    "init": (
        '    init : {"k-means++", "random"} or ndarray, default "k-means++"\n'
        "        k-means++ seeding of the centres, random Dirichlet memberships, or an array: initial centres\n"
        "        (c, F) in the analysed (preprocessed) space, or initial memberships (n, c) (then\n"
        "        ``n_init = 1`` and the first step is a centre update, as in scikit-fuzzy's ``cmeans``).\n"
    ),
    "beta": (
        "    beta : float, default 0.0\n"
        "        Generalised FCM (Zhu et al. 2009) in [0, 1): distances reduced by \u03b2\u00b7min_j d_jk.\n"
    ),
    "noise_distance": (
        "    noise_distance : float or None, default None\n"
        "        Distance \u03b4 of a noise cluster (Dav\u00e9 1991) in analysed units; outliers get low memberships\n"
        "        in every real cluster (``noise_membership`` in the result).\n"
    ),
    "missing": (
        '    missing : {"error", "pds"}, default "error"\n'
        "        NaN policy: refuse, or cluster incomplete samples with the partial distance strategy\n"
        "        (Hathaway & Bezdek 2001).\n"
    ),
    "dtype": (
        '    dtype : {"float64", "float32"}, default "float64"\n'
        "        Working precision (float32 halves memory on large maps).\n"
    ),
    "random_state": (
        "    random_state : int, numpy Generator or None, default None\n"
        "        Seed of the initialisation and of the silhouette subsample.\n"
    ),
    "method": (
        '    method : {"s1", "s2", "chuang", "flicm"}, default "s1"\n'
        "        Spatial term: FCM_S1/S2 feature lag (window mean/median, Chen & Zhang 2004 = SFCM of\n"
        "        R geocmeans), Chuang et al. (2006) membership filter, or FLICM (Krinidis & Chatzis 2010).\n"
    ),
    "alpha": (
        "    alpha : float, default 1.0\n"
        "        Weight of the lag term (s1/s2); \u03b1 = 0 is FCM.\n"
    ),
    "window": ("    window : int, default 3\n        Odd window size (pixels).\n"),
    "neighbours": (
        '    neighbours : {"knn", "radius", "gaussian", "delaunay"}, default "knn"\n'
        "        Graph: k nearest neighbours (symmetrised), a distance band, a Gaussian kernel\n"
        "        :math:`w=\\exp(-d^2/2s^2)` truncated at 3s, or Delaunay natural neighbours.\n"
    ),
    "k": ('    k : int, default 8\n        Neighbours for ``"knn"``.\n'),
    "radius": (
        "    radius : float or None\n"
        '        Distance band ``r`` for ``"radius"`` in coordinate units (km for lon/lat); default 3 \u00d7 the\n'
        "        median nearest-neighbour distance.\n"
    ),
    "bandwidth": (
        "    bandwidth : float or None\n"
        '        Kernel scale ``s`` for ``"gaussian"`` (same units); default 2 \u00d7 the median\n'
        "        nearest-neighbour distance.\n"
    ),
    "x_column": (
        "    x_column : str or None\n"
        "        Column of a DataFrame ``X`` holding x (or longitude); removed from the features. Or pass\n"
        "        ``coordinates=`` to ``fit``.\n"
    ),
    "y_column": ("    y_column : str or None\n        Column holding y (or latitude).\n"),
    "coordinate_system": (
        '    coordinate_system : {"projected", "lonlat"}, default "projected"\n'
        '        ``"lonlat"``: x = longitude, y = latitude in degrees, converted to km (equirectangular\n'
        "        about the centroid).\n"
    ),
    "duplicates": (
        '    duplicates : {"error", "keep"}, default "error"\n'
        "        Samples at identical coordinates are refused (naming them), or kept as mutual\n"
        "        neighbours.\n"
    ),
    "p": (
        "    p : float, default 1.0\n"
        "        Chuang exponent of the memberships, :math:`u'\\propto u^p h^q`.\n"
    ),
    "q": (
        "    q : float, default 2.0\n"
        "        Chuang exponent of the neighbourhood sum :math:`h`; (p, q) = (1, 0) is FCM; the default\n"
        "        (1, 2) is a choice of this implementation [R].\n"
    ),
}

_MARK = "    @PARAMETERS@\n"


def fill_parameters(obj):
    """Replace the ``@PARAMETERS@`` line of ``obj.__doc__`` by the entries of its signature."""
    func = obj.__init__ if inspect.isclass(obj) else obj
    names = [p for p in inspect.signature(func).parameters if p != "self"]
    section = "".join(PARAMETER_DOCS[n] for n in names)
    obj.__doc__ = obj.__doc__.replace(_MARK, section)
    return obj
