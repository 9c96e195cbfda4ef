"""``read_jeol_map(chunks=…)``: a lazily read map equals the whole read, and bad files fail alike."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from petroinfer.errors import InputError
from petroinfer.io import read_jeol_map, read_jeol_qnt


@pytest.fixture(scope="module")
def minimal(qntmap_minimal_dir):
    return qntmap_minimal_dir


def _write_map(folder, arrays_, elements, points=None, jxa8230=False, csv=False):
    folder.mkdir(parents=True, exist_ok=True)
    for k, (a, el) in enumerate(zip(arrays_, elements, strict=True), start=1):
        name = f"data{k:03d}.csv" if csv else f"{k}_map.txt"
        np.savetxt(folder / name, a, fmt="%d", delimiter="," if csv else " ")
        nx, ny = points or (a.T.shape if jxa8230 else a.shape)
        cnd = f"data{k:03d}.cnd" if csv else f"{k}.cnd"
        inst = "JXA-8230" if jxa8230 else "JXA-TEST"
        (folder / cnd).write_text(
            f"$CM_INSTRUMENT {inst}\n$CM_CURRENT 1e-07\n$XM_ELEMENT {el}\n"
            f"$XM_DWELL_TIME 100 msec\n$XM_STEP_SIZE 1000 1000 um\n"
            f"$XM_MAP_START 0 0 0 mm\n$XM_POINTS {nx} {ny}\n"
        )
    return folder


def test_minimal_lazy_equals_whole(minimal):
    whole = read_jeol_map(minimal / ".map/1")
    lazy = read_jeol_map(minimal / ".map/1", chunks=7)
    assert lazy.chunks is not None  # dask-backed, nothing parsed yet
    assert lazy.chunks[2] == (7,) * 14 + (2,)  # blocks of 7 file rows = 7 stage-X columns
    np.testing.assert_array_equal(lazy.values, whole.values)
    for c in ("x", "y", "element", "electron"):
        np.testing.assert_array_equal(lazy[c].values, whole[c].values)
    assert lazy.attrs == whole.attrs


def test_minimal_quantified_from_a_lazy_read(minimal):
    from petroinfer.imaging import quantify_epma

    qnt = read_jeol_qnt(minimal / ".qnt")
    a = quantify_epma(read_jeol_map(minimal / ".map/1"), qnt)
    b = quantify_epma(read_jeol_map(minimal / ".map/1", chunks=25).chunk({"y": 50, "x": 50}), qnt)
    np.testing.assert_allclose(b.phase_fraction().values, a.phase_fraction().values, atol=1e-10)
    np.testing.assert_allclose(b.phase_mean().values, a.phase_mean().values, rtol=1e-10)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=40, deadline=None)
@given(
    a=st.tuples(st.integers(1, 7), st.integers(1, 7)).flatmap(
        lambda s: arrays(np.int64, s, elements=st.integers(0, 10**6))
    ),
    rows=st.integers(1, 8),
    jxa8230=st.booleans(),
    csv=st.booleans(),
)
def test_lazy_round_trip_property(tmp_path_factory, a, rows, jxa8230, csv):
    d = _write_map(tmp_path_factory.mktemp("m"), [a, 2 * a], ["Si", "Mg"], jxa8230=jxa8230, csv=csv)
    whole = read_jeol_map(d)
    lazy = read_jeol_map(d, chunks=rows)
    np.testing.assert_array_equal(lazy.values, whole.values)
    np.testing.assert_array_equal(lazy["x"].values, whole["x"].values)
    # x is the file row except on JXA-8230, whose file rows run along y
    np.testing.assert_array_equal(lazy.sel(element="Si").values, a if jxa8230 else a.T)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines.__setitem__(1, lines[1] + " 7"), r"1_map\.txt, line 2: ragged row"),
        (lambda lines: lines.__setitem__(2, "1 x 1 1 1"), r"1_map\.txt, line 3: non-numeric.*x"),
        (lambda lines: lines.__setitem__(0, "1 1 -4 1 1"), r"1_map\.txt, line 1: negative.*-4"),
        (lambda lines: lines.__setitem__(1, "1 nan 1 1 1"), r"line 2: negative or missing.*nan"),
        (lambda lines: lines.clear(), r"1_map\.txt: empty map file"),
    ],
)
def test_bad_files_fail_before_any_block_is_read(tmp_path, edit, message):
    d = _write_map(tmp_path / "m", [np.ones((3, 5))], ["Si"])
    lines = (d / "1_map.txt").read_text().splitlines()
    edit(lines)
    (d / "1_map.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=message):
        read_jeol_map(d, chunks=2)


def test_shape_checks_and_bad_chunks(tmp_path):
    d = _write_map(tmp_path / "m", [np.ones((5, 3))], ["Si"], points=(3, 5))
    with pytest.raises(InputError, match="transposed"):
        read_jeol_map(d, chunks=2)
    d = _write_map(tmp_path / "n", [np.ones((3, 5))], ["Si"])
    for bad in (0, -3, True):
        with pytest.raises(InputError, match="chunks must be a positive"):
            read_jeol_map(d, chunks=bad)
