"""JEOL EPMA readers: QntMap minimal set (via the registry) and odd files."""

from __future__ import annotations

import numpy as np
import pytest

from petroinfer.errors import InputError
from petroinfer.io import read_jeol_map, read_jeol_qnt


@pytest.fixture(scope="module")
def minimal(qntmap_minimal_dir):
    return qntmap_minimal_dir


def _write_map(folder, arrays, elements, points=None, step=(1000, 1000)):
    folder.mkdir(parents=True, exist_ok=True)
    for k, (a, el) in enumerate(zip(arrays, elements, strict=True), start=1):
        np.savetxt(folder / f"{k}_map.txt", a, fmt="%d")
        nx, ny = points or a.shape
        (folder / f"{k}.cnd").write_text(
            f"$CM_INSTRUMENT JXA-TEST\n$CM_CURRENT 1e-07\n$XM_ELEMENT {el}\n"
            f"$XM_DWELL_TIME 100 msec\n$XM_STEP_SIZE {step[0]} {step[1]} um\n"
            f"$XM_MAP_START 0 0 0 mm\n$XM_POINTS {nx} {ny}\n"
        )
    return folder


def test_minimal_map_shapes_and_ranges(minimal):
    m = read_jeol_map(minimal / ".map/1")
    assert m.dims == ("element", "y", "x") and m.shape == (2, 100, 100)
    assert list(m["element"].values) == ["Si", "Mg"]
    assert m.attrs["dwell_s"] == pytest.approx(0.1) and m.attrs["current_A"] == pytest.approx(1e-7)
    assert m.attrs["instrument"] == "JXA-DUMMY" and m.attrs["units"] == "counts"
    assert float(m["x"][-1]) == pytest.approx(99.0)  # 1000 µm steps from 0 mm
    si, mg = m.sel(element="Si").values, m.sel(element="Mg").values
    # the quartz domain: Mg = 0 exactly where Si > 7000 counts
    np.testing.assert_array_equal(mg == 0, si > 7000)
    raw = np.loadtxt(minimal / ".map/1/1_map.txt")
    np.testing.assert_array_equal(si, raw.T)  # file rows run along stage X
    assert si.min() > 3000 and si.max() < 11000


def test_conditions_csv_alternative(minimal):
    a = read_jeol_map(minimal / ".map/1")
    b = read_jeol_map(minimal, conditions=minimal / "conditions_xmap.csv")
    np.testing.assert_array_equal(a.values, b.values)
    assert b.attrs["dwell_s"] == a.attrs["dwell_s"]
    q1 = read_jeol_qnt(minimal / ".qnt")
    q2 = read_jeol_qnt(minimal / ".qnt", conditions=minimal / "conditions_qnt.csv")
    assert q1.conditions.equals(q2.conditions)


def test_minimal_spots(minimal):
    q = read_jeol_qnt(minimal / ".qnt")
    assert list(q.spots.index) == list(range(1, 41))
    assert (q.spots.loc[1:20, "phase"] == "Qtz").all() and (q.spots.loc[21:, "phase"] == "Ol").all()
    assert q.elements == ["Si", "Mg"] and list(q.conditions["oxide"]) == ["SiO2", "MgO"]
    assert q.conditions.loc["Si", "t_peak_s"] == 10 and q.conditions.loc["Mg", "t_bg_s"] == 5
    assert q.spots["current_A"].eq(1e-8).all()
    assert q.wt.loc[21, "Si"] == pytest.approx(42.71) and q.wt.loc[1, "Mg"] == 0
    assert q.pk.loc[1, "Si"] == 994070 and (q.pk.loc[1:20, "Mg"] == 0).all()
    # background at the peak, (bgm·1 + bgp·1)/2 for spot 21 Mg: (6080 + 5720)/2
    assert q.background.loc[21, "Mg"] == pytest.approx(5900.0)
    inside = (q.spots[["X", "Y"]] >= 0).all(axis=1) & (q.spots[["X", "Y"]] <= 99).all(axis=1)
    assert inside.all()


def test_pk_computed_when_pkint_missing(minimal, tmp_path):
    import shutil

    d = tmp_path / ".qnt"
    shutil.copytree(minimal / ".qnt", d)
    (d / "pkint.qnt").unlink()
    q, ref = read_jeol_qnt(d), read_jeol_qnt(minimal / ".qnt")
    np.testing.assert_allclose(q.pk.values, (ref.net + ref.background).values)


def test_phase_list_overrides(minimal):
    import pandas as pd

    pl = pd.DataFrame({"id": range(1, 21), "phase": "Qtz", "use": False})
    q = read_jeol_qnt(minimal / ".qnt", phase_list=pl)
    assert q.spots["use"].sum() == 20


def test_ragged_row_names_file_and_line(tmp_path):
    d = _write_map(tmp_path / "m", [np.ones((3, 5))], ["Si"])
    lines = (d / "1_map.txt").read_text().splitlines()
    lines[1] += " 7"
    (d / "1_map.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"1_map\.txt, line 2: ragged row"):
        read_jeol_map(d)


def test_transposed_map_detected(tmp_path):
    d = _write_map(tmp_path / "m", [np.ones((5, 3))], ["Si"], points=(3, 5))
    with pytest.raises(InputError, match="transposed"):
        read_jeol_map(d)


def test_missing_element_key(tmp_path):
    d = _write_map(tmp_path / "m", [np.ones((3, 5))], ["Si"])
    text = (d / "1.cnd").read_text().replace("$XM_ELEMENT Si\n", "")
    (d / "1.cnd").write_text(text)
    with pytest.raises(InputError, match=r"1\.cnd: no .*XM_ELEMENT"):
        read_jeol_map(d)


def test_map_without_cnd(tmp_path):
    d = _write_map(tmp_path / "m", [np.ones((3, 5))] * 2, ["Si", "Mg"])
    (d / "2.cnd").unlink()
    with pytest.raises(InputError, match="2 map files but 1 condition"):
        read_jeol_map(d)


def test_ragged_qnt_row(minimal, tmp_path):
    import shutil

    d = tmp_path / ".qnt"
    shutil.copytree(minimal / ".qnt", d)
    lines = (d / "net.qnt").read_text().splitlines()
    lines[4] = "5 2 987920 0"
    (d / "net.qnt").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"net\.qnt, line 5: ragged row"):
        read_jeol_qnt(d)


def test_conditions_csv_dead_time_and_bad_cells(minimal, tmp_path):
    import shutil

    shutil.copytree(minimal / ".map", tmp_path / ".map")
    text = (minimal / "conditions_xmap.csv").read_text().replace(",5,100,100,0", ",5,100,100,1100")
    (tmp_path / "c.csv").write_text(text)
    m = read_jeol_map(tmp_path, conditions=tmp_path / "c.csv")
    assert m.attrs["dead_time_ns_conditions"] == 1100.0 and m.attrs["dead_time_ns"] == 0.0
    assert m.attrs["step_um"] == (5.0, 5.0)
    (tmp_path / "bad.csv").write_text(text.replace("JXA-DUMMY,100,", "JXA-DUMMY,abc,"))
    with pytest.raises(InputError, match=r"bad\.csv, line 2, column 'Dwell \[msec\]'"):
        read_jeol_map(tmp_path, conditions=tmp_path / "bad.csv")
    (tmp_path / "missing.csv").write_text(text.replace(".map/1/2_map.txt", ".map/1/9_map.txt"))
    with pytest.raises(InputError, match=r"missing\.csv, line 3: map file .*9_map\.txt not found"):
        read_jeol_map(tmp_path, conditions=tmp_path / "missing.csv")


@pytest.mark.filterwarnings("ignore")
def test_map_round_trip_property(tmp_path_factory):
    """Any non-negative integer matrix written as a JEOL map reads back transposed (x = file row)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    shapes = st.tuples(st.integers(1, 6), st.integers(1, 6))

    @settings(max_examples=30, deadline=None)
    @given(shapes.flatmap(lambda s: arrays(np.int64, s, elements=st.integers(0, 10**6))))
    def check(a):
        d = _write_map(tmp_path_factory.mktemp("m"), [a], ["Si"])
        m = read_jeol_map(d)
        assert m.sizes["x"] == a.shape[0] and m.sizes["y"] == a.shape[1]
        np.testing.assert_array_equal(m.sel(element="Si").values, a.T)

    check()
