"""Reader of LA-ICP-MS line-scan exports (Shimadzu + long CSV)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petroinfer.errors import InputError
from petroinfer.io import count_quantum, read_laicpms
from petroinfer.io.datasets import dataset_path


@pytest.fixture(scope="module")
def sekro():
    path = dataset_path("laicpms_sekro_c1sa1")
    if path is None:
        pytest.skip("dataset laicpms_sekro_c1sa1 absent (set PETROINFER_DATA_DIR to shared data)")
    return read_laicpms(path)


def test_shimadzu_scan_shape_time_and_quanta(sekro):
    assert dict(sekro.sizes) == {"isotope": 4, "line": 200, "time": 219}
    assert list(sekro.isotope.values) == ["P31", "Fe57", "Zn64", "Zn66"]
    assert sekro.time.values[0] == 0.0
    assert abs(sekro.time.values[-1] - 71.94) < 1e-4
    assert abs(sekro.attrs["dwell_s"] - 0.33) < 2e-3
    assert not bool(sekro.isnull().any())
    np.testing.assert_allclose(sekro.attrs["count_scale"], [40, 40, 45, 45])
    np.testing.assert_allclose(
        sekro.median(("line", "time")).values, [2.0, 0.4, 10.18, 6.36], atol=0.05
    )
    assert list(sekro.line.values[:3]) == [1, 2, 3]  # not flipped
    assert str(sekro.line_start.values[0]).startswith("2019-10-09T13:38:04")


def _long(tmp_path, df):
    p = tmp_path / "scan.csv"
    df.to_csv(p, index=False)
    return p


def test_long_table_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        {"line": ln, "time_ms": 250.0 * k, "Cu:63": rng.poisson(5), "Pb208": rng.poisson(2)}
        for ln in (1, 2, 3)
        for k in range(10)
    ]
    cube = read_laicpms(_long(tmp_path, pd.DataFrame(rows)))
    assert dict(cube.sizes) == {"isotope": 2, "line": 3, "time": 10}
    assert list(cube.isotope.values) == ["Cu63", "Pb208"]
    np.testing.assert_allclose(cube.time.values[:2], [0.0, 0.25])
    assert cube.sel(isotope="Cu63", line=2).values[3] == rows[13]["Cu:63"]
    assert float(cube.count_quantum[0]) == 1.0


def test_ragged_line_is_named(tmp_path):
    rows = [{"line": ln, "time_s": 0.5 * k, "Zn66": 1.0} for ln in (1, 2) for k in range(5)]
    rows = rows[:-1]
    with pytest.raises(InputError, match=r"line 2.*ragged"):
        read_laicpms(_long(tmp_path, pd.DataFrame(rows)))


def test_non_numeric_cell_is_named(tmp_path):
    df = pd.DataFrame({"line": [1, 1], "time_s": [0.0, 0.5], "Zn66": ["1.0", "abc"]})
    with pytest.raises(InputError, match=r"non-numeric.*'Zn66'.*'abc'"):
        read_laicpms(_long(tmp_path, df))


def test_negative_and_missing_columns(tmp_path):
    df = pd.DataFrame({"line": [1, 1], "time_s": [0.0, 0.5], "Zn66": [1.0, -2.0]})
    with pytest.raises(InputError, match="negative"):
        read_laicpms(_long(tmp_path, df))
    with pytest.raises(InputError, match="'line'"):
        read_laicpms(_long(tmp_path, pd.DataFrame({"t": [0.0], "Zn": [1.0]})))


def test_shimadzu_out_of_order_columns(tmp_path):
    head = ["Time of scan[ms/(24*60*60*1000)]", "S_001", "S_001", "S_002", "S_003"]
    text = ",".join(head) + "\n" + ",a,a,b,b\n" + ",P:31,Zn:66,P:31,Zn:66\n"
    text += "\n".join(f"{k * 1e-5:.9f},1,2,3,4" for k in range(5)) + "\n"
    p = tmp_path / "s.csv"
    p.write_text(text)
    with pytest.raises(InputError, match="not 3 lines × 2 isotopes"):
        read_laicpms(p)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 30).filter(lambda k: k != 10),
    n=st.lists(st.integers(0, 5000), min_size=50, max_size=300),
)
def test_count_quantum_recovers_the_divisor(k, n):
    # every residue mod k present ≥ 5 times (> 1 % of the values): the quantum is exactly 1/k
    # (k = 10 gives one-decimal values, where 1/8 and 1/10 cannot be told apart: documented)
    vals = np.round(np.array(n + list(range(k)) * 5) / k, 2)
    assert count_quantum(vals) == pytest.approx(1.0 / k, rel=1e-12)
