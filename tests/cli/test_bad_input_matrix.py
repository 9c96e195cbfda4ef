"""Every command × every kind of bad input: exit 2 with one line, no traceback, nothing written.

A command joins the matrix by adding an entry to :data:`COMMANDS` (a minimal valid input table and
its arguments); :func:`test_every_command_is_registered` fails when a command of the Typer app is in
neither :data:`COMMANDS` nor :data:`NO_TABLE`. Cases that must *work* (UTF-8 BOM, semicolons) expect
exit 0 and the outputs in ``--out``; "work or refuse cleanly" cases accept 0 or 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from petroinfer.cli.main import app

runner = CliRunner()


# ------------------------------------------------------------------------------------------------
# registry: a minimal valid table per command
# ------------------------------------------------------------------------------------------------
def _garnet() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Sample": ["G1", "G2", "G3"],
            "SiO2": [36.70, 37.5, 37.1],
            "TiO2": [0.75, 0.02, 0.10],
            "Al2O3": [21.40, 21.1, 21.3],
            "FeO": [29.90, 32.0, 30.5],
            "MnO": [1.14, 1.5, 1.3],
            "MgO": [0.90, 4.9, 3.0],
            "CaO": [9.02, 3.0, 6.5],
        }
    )


def _pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["s1", "s2", "s3"],
            "Grt_XAlm": [0.75, 0.74, 0.73],
            "Grt_XPrp": [0.12, 0.13, 0.14],
            "Grt_XGrs": [0.08, 0.08, 0.08],
            "Grt_XSps": [0.05, 0.05, 0.05],
            "Bt_XMg": [0.45, 0.40, 0.42],
            "Pl_XAn": [0.25, 0.25, 0.22],
        }
    )


def _garnet_profile() -> pd.DataFrame:
    x = np.linspace(0.0, 280.0, 8)
    return pd.DataFrame(
        {
            "distance_um": x,
            "XPrp": 0.08 + 2e-4 * x,
            "XSps": 0.07 - 6e-5 * x,
            "XGrs": 0.11 + 1e-4 * x,
        }
    )


def _inclusions() -> pd.DataFrame:
    from petroinfer.ptpath import synthetic_inclusions

    data, _ = synthetic_inclusions(5, random_state=0)
    return data.reset_index(drop=True)


def _zoning() -> pd.DataFrame:
    from petroinfer.ptpath import synthetic_zoning

    data, _, _ = synthetic_zoning("prograde", n_points=5, noise=0.0, random_state=0)
    return data


def _mixtures() -> pd.DataFrame:
    from petroinfer.geochem.synthetic import make_endmember_mixtures

    return make_endmember_mixtures(24, random_state=0).data.reset_index()


def _alteration() -> pd.DataFrame:
    from petroinfer.geochem.synthetic import make_alteration

    return make_alteration(5, protolith_noise=0.01, random_state=0).data


def _series() -> pd.DataFrame:
    from petroinfer.kinetics import dissolution_precipitation, simulate_observations

    obs, _ = simulate_observations(
        dissolution_precipitation(surface="sphere"), n_obs=15, noise=0.03, random_state=0
    )
    return obs[["time", "B"]]


def _basalts() -> pd.DataFrame:
    from petroinfer.io.datasets import dataset_path, load_ueki2018_basalts

    if dataset_path("ueki2018_basalts") is None:
        pytest.skip("Ueki (2018) basalts not available")
    df = load_ueki2018_basalts()
    classes = df["Class"].value_counts().index[:3]
    parts = [df[df["Class"] == c].head(12) for c in classes]
    out = pd.concat(parts).reset_index(drop=True)
    out.insert(0, "sample", [f"b{i:02d}" for i in range(len(out))])
    return out


def _melts() -> pd.DataFrame:
    from petroinfer.geochem import make_melting_data

    data, _ = make_melting_data(4, elements=["La", "Sm", "Zr", "Yb"], random_state=0)
    return data.reset_index()


@dataclass
class Spec:
    """A command with a minimal valid input: ``{input}``, ``{out}`` and ``{model}`` in ``args``."""

    table: Callable[[], pd.DataFrame]
    args: list[str]
    num: str  # numeric column corrupted by the cell cases
    required: str  # column misspelled by the misspelled-column case
    id: str | None = None  # id column (duplicate-id case), None: the table has no ids
    log: bool = False  # is ``num`` under a logarithm (zero must be refused)?
    lenient: set[str] = field(default_factory=set)  # cases allowed to exit 0 as well as 2


COMMANDS: dict[str, Spec] = {
    "composition validate": Spec(
        _garnet, ["composition", "validate", "{input}"], "SiO2", "MgO", id="Sample"
    ),
    "composition formula": Spec(
        _garnet,
        ["composition", "formula", "{input}", "--mineral", "garnet"],
        "SiO2",
        "MgO",
        id="Sample",
        lenient={"zero_log"},
    ),
    "thermo thermobar": Spec(
        _pairs,
        ["thermo", "thermobar", "{input}", "--uncertainty", "linear"],
        "Grt_XPrp",
        "Grt_XGrs",
        id="id",
        log=True,
    ),
    "ptpath assimilate": Spec(
        _garnet_profile,
        [
            "ptpath",
            "assimilate",
            "{input}",
            "--n-ensemble",
            "10",
            "--n-nodes",
            "3",
            "--n-cells",
            "10",
            "--n-assimilations",
            "1",
        ],
        "XSps",
        "distance_um",
        log=True,
        lenient={"blank"},
    ),
    "ptpath inclusions": Spec(
        _inclusions,
        ["ptpath", "inclusions", "{input}", "--n-nodes", "4"],
        "Grt_XPrp",
        "radius",
        log=True,
        lenient={"blank"},
    ),
    "ptpath zoning": Spec(
        _zoning,
        ["ptpath", "zoning", "{input}", "--bt-xmg", "0.4", "--pl-xan", "0.3", "--order", "1"],
        "Grt_XPrp",
        "distance",
        lenient={"blank", "negative", "huge", "zero_log"},
    ),
    "geochem endmembers": Spec(
        _mixtures,
        ["geochem", "endmembers", "{input}", "--k", "2", "--restarts", "2", "--bootstrap", "0"],
        "MgO",
        "MgO",
        id="sample",
        lenient={"zero_log"},
    ),
    "geochem cluster": Spec(
        _mixtures,
        ["geochem", "cluster", "{input}", "--k", "2"],
        "MgO",
        "MgO",
        id="sample",
        lenient={"zero_log"},
    ),
    "geochem isocon": Spec(
        _alteration,
        ["geochem", "isocon", "{input}", "--protolith", "P0", "--bootstrap", "5"],
        "MgO",
        "Zr",
        id="sample_id",
        lenient={"zero_log"},
    ),
    "geochem discriminate evaluate": Spec(
        _basalts,
        [
            *("geochem", "discriminate", "evaluate", "--data", "{input}", "--model", "svm"),
            *("--folds", "2", "--n-jobs", "1", "--missing-fraction", "0"),
        ],
        "MgO",
        "Class",
        id="sample",
        log=True,
        lenient={"blank"},  # a missing feature is allowed (imputed / native NaN)
    ),
    "geochem discriminate train": Spec(
        _basalts,
        [
            *("geochem", "discriminate", "train", "--data", "{input}", "--model", "svm"),
            *("--save", "{save}"),
        ],
        "MgO",
        "Class",
        id="sample",
        log=True,
        lenient={"blank"},
    ),
    "geochem discriminate predict": Spec(
        _basalts,
        ["geochem", "discriminate", "predict", "{model}", "{input}"],
        "MgO",
        "MgO",
        id="sample",
        log=True,
        lenient={"blank"},
    ),
    "geochem melting": Spec(
        _melts,
        [
            *("geochem", "melting", "{input}", "--model", "batch", "--steps", "20"),
            *("--burn", "20", "--chains", "1"),
        ],
        "La",
        "Zr",
        id="sample",
        log=True,
    ),
    "kinetics fit": Spec(
        _series,
        [
            *("kinetics", "fit", "{input}", "--surface", "sphere", "--draws", "20"),
            *("--chains", "1", "--particles", "32", "--evidence-draws", "4"),
        ],
        "B",
        "time",
        lenient={"zero_log"},
    ),
    "kinetics select-terms": Spec(_series, ["kinetics", "select-terms", "{input}"], "B", "time"),
}


def _axes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "grain": [f"g{i}" for i in range(8)],
            "theta": [12.0, 25.0, 31.0, 40.0, 44.0, 170.0, 8.0, 20.0],
        }
    )


def _grains() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "aspect_ratio": [2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0],
            "boudinaged": [0, 0, 1, 0, 1, 1, 0, 1],
        }
    )


def _units() -> pd.DataFrame:
    from petroinfer.geochem import make_scattered_units

    return make_scattered_units(n=30, random_state=0)[0].reset_index()


COMMANDS["geochem fcm"] = Spec(
    _units,
    [
        *("geochem", "fcm", "{input}", "--x-column", "x", "--y-column", "y"),
        *("--c", "3", "--n-init", "1"),
    ],
    "MgO",
    "MgO",
    id="sample",
)
COMMANDS["texture orientation"] = Spec(
    _axes,
    [
        *("texture", "orientation", "{input}", "--column", "theta", "--axial"),
        *("--models", "uniform,von_mises"),
    ],
    "theta",
    "theta",
    lenient={"negative"},  # a negative azimuth is a valid direction
)
COMMANDS["texture microboudin"] = Spec(
    _grains,
    ["texture", "microboudin", "{input}", "--no-loo"],
    "aspect_ratio",
    "aspect_ratio",
)


def _mode_profile() -> pd.DataFrame:
    from petroinfer.kinetics import load_transport_spec, simulate_mode_profile

    setup = load_transport_spec({"network": "dissolution-precipitation"})
    return simulate_mode_profile(
        setup.model, setup.initial_state, setup.time, 0.03, n_steps=4, random_state=0
    )


def _mode_snapshots() -> pd.DataFrame:
    """Two snapshots (t = 2 and 5) of one section: a ``time`` column, one block per time."""
    from petroinfer.kinetics import load_transport_spec, simulate_mode_profile

    setup = load_transport_spec({"network": "dissolution-precipitation"})
    return simulate_mode_profile(
        setup.model, setup.initial_state, [2.0, 5.0], 0.03, n_steps=4, random_state=0
    )


def _rd_field() -> pd.DataFrame:
    import numpy as np

    from petroinfer.kinetics import Reaction, ReactionNetwork, ReactionTransport, Species
    from petroinfer.numerics import Grid1D

    net = ReactionNetwork(
        (Species("M", "solid"), Species("c", "aqueous")),
        (Reaction("diss", {"M": -1.0, "c": 1.0}, 0.5, "M", "sphere", "affinity", "c", 0.5),),
    )
    g = Grid1D.uniform(1.0, 24)
    x0 = np.column_stack([0.3 + 0.2 * np.cos(2 * np.pi * g.centres), np.full(24, 0.2)])
    da = ReactionTransport(net, g, 0.01).simulate(x0, np.linspace(0, 2, 21), n_steps=2)
    return da.to_dataset(dim="species").to_dataframe().reset_index()


COMMANDS["kinetics transport-fit"] = Spec(
    _mode_profile,
    [
        *("kinetics", "transport-fit", "{input}", "--network", "{spec}"),
        *("--sweeps", "20", "--temps", "2", "--chains", "1"),
    ],
    "A",
    "x",
    lenient={"zero_log"},  # a zero mode is a valid (censored) observation
)
COMMANDS["kinetics transport-fit (snapshots)"] = Spec(  # a variant: " (…)" names it
    _mode_snapshots,
    [
        *("kinetics", "transport-fit", "{input}", "--network", "{spec}"),
        *("--sweeps", "20", "--temps", "2", "--chains", "1"),
    ],
    "time",
    "x",
)
COMMANDS["kinetics identify"] = Spec(
    _rd_field,
    ["kinetics", "identify", "{input}", "--solids", "M", "--aqueous", "c"],
    "M",
    "time",
    lenient={"zero_log"},
)


def _line_scan() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [
        {"line": ln, "time_s": round(0.1 * k, 3), "Cu63": float(rng.poisson(20))}
        for ln in (1, 2)
        for k in range(30)
    ]
    return pd.DataFrame(rows)


COMMANDS["imaging laicpms-deconvolve"] = Spec(
    _line_scan,
    ["imaging", "laicpms-deconvolve", "{input}", "--fwhm-s", "0.3", "--n-lambda", "4"],
    "Cu63",
    "line",
    lenient={"zero_log"},  # a zero count is a valid observation
)

#: commands without an input table: only the ``--out`` cases apply (``None``: no ``--out`` at all)
NO_TABLE: dict[str, list[str] | None] = {
    "info": ["info"],
    "demo": ["demo", "--only", "composition"],
    "datasets list": ["datasets", "list"],
    "datasets fetch": None,  # downloads into the pooch cache, no --out folder of results
    "datasets path": None,
    "kinetics simulate": ["kinetics", "simulate", "{spec}"],
    "kinetics transport-simulate": ["kinetics", "transport-simulate", "{spec}"],
    "gibbs forward": ["gibbs", "forward", "{spec}"],
    "diffusion simulate": ["diffusion", "simulate", "{spec}"],
    "imaging segment": ["imaging", "segment", "{maps}", "--c", "2", "--chunks", "8"],
    "imaging epma": ["imaging", "epma", "no_such_map_dir", "no_such_qnt_dir"],
}

TABLE_CASES = [
    "missing",
    "empty",
    "binary",
    "header_only",
    "non_numeric",
    "blank",
    "negative",
    "zero_log",
    "huge",
    "duplicate_id",
    "misspelled",
    "bom",
    "semicolon",
    "decimal_comma",
    "one_row",
]
OUT_CASES = ["out_is_file", "out_read_only"]
MUST_WORK = {"bom", "semicolon"}
WORK_OR_REFUSE = {"decimal_comma", "one_row"}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def _leaf_commands() -> set[str]:
    """All visible leaf commands of the app, as space-separated paths."""
    import typer.main

    found: set[str] = set()

    def walk(cmd, prefix: list[str]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs is None:
            found.add(" ".join(prefix))
            return
        for name, sub in subs.items():
            if not getattr(sub, "hidden", False):
                walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return found


def _csv(df: pd.DataFrame) -> str:
    return df.to_csv(index=False)


def _make_input(spec: Spec, case: str, path: Path) -> Path:
    df = spec.table()
    num = spec.num
    numeric_rows = df.index[pd.to_numeric(df[num], errors="coerce").notna()]
    row = numeric_rows[min(1, len(numeric_rows) - 1)]
    if case == "missing":
        return path.with_name("no_such_file.csv")
    if case == "empty":
        path.write_bytes(b"")
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif case == "header_only":
        path.write_text(",".join(df.columns) + "\n")
    elif case in ("non_numeric", "blank", "negative", "zero_log", "huge"):
        value = {
            "non_numeric": "abc",
            "blank": "",
            "negative": "-0.2",
            "zero_log": "0",
            "huge": "1e300",
        }[case]
        df[num] = df[num].astype(object)
        df.loc[row, num] = value
        path.write_text(_csv(df))
    elif case == "duplicate_id":
        df.loc[df.index[1], spec.id] = df.loc[df.index[0], spec.id]
        path.write_text(_csv(df))
    elif case == "misspelled":
        wrong = spec.required.replace("O", "0") if "O" in spec.required else spec.required + "x"
        path.write_text(_csv(df.rename(columns={spec.required: wrong})))
    elif case == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + _csv(df).encode())
    elif case == "semicolon":
        path.write_text(df.to_csv(index=False, sep=";"))
    elif case == "decimal_comma":
        path.write_text(df.to_csv(index=False, sep=";", decimal=","))
    elif case == "one_row":
        path.write_text(_csv(df.iloc[:1]))
    else:  # pragma: no cover
        raise AssertionError(case)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _check_clean_failure(res, expected: set[int]) -> None:
    text = res.output
    assert "Traceback" not in text, text
    assert res.exit_code in expected, f"exit {res.exit_code}: {text}"
    if res.exit_code != 0:
        errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, res.stderr
        assert "np.float64" not in text and "np.int64" not in text, text


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    """A discrimination model trained on the minimal basalt table (for ``predict``)."""
    folder = tmp_path_factory.mktemp("model")
    src = folder / "train.csv"
    src.write_text(_csv(_basalts()))
    model = folder / "m.joblib"
    res = runner.invoke(
        app,
        [
            *("geochem", "discriminate", "train", "--data", str(src), "--model", "svm"),
            *("--save", str(model)),
        ],
    )
    assert res.exit_code == 0, res.output
    return model


def _args(spec_args: list[str], tmp_path: Path, inp: Path, request) -> list[str]:
    model = request.getfixturevalue("model_file") if "{model}" in spec_args else None
    mapping = {
        "{input}": str(inp),
        "{save}": str(tmp_path / "saved" / "m.joblib"),
        "{model}": str(model),
        "{spec}": str(_yaml_spec(tmp_path)),
        "{maps}": str(_maps_dir(tmp_path)),
    }
    return [mapping.get(a, a) for a in spec_args]


def _maps_dir(tmp_path: Path) -> Path:
    """Two 12 × 12 element maps (one CSV matrix per element) with two domains."""
    folder = tmp_path / "maps"
    if not folder.exists():
        folder.mkdir()
        rng = np.random.default_rng(0)
        left = np.zeros((12, 12), dtype=bool)
        left[:, :6] = True
        for name, (a, b) in {"Si": (40.0, 10.0), "Mg": (5.0, 30.0)}.items():
            grid = np.where(left, a, b) + rng.normal(0.0, 1.0, (12, 12))
            np.savetxt(folder / f"{name}.csv", grid, delimiter=",")
    return folder


def _yaml_spec(tmp_path: Path) -> Path:
    p = tmp_path / "net.yaml"
    if not p.exists():
        p.write_text(
            "network: dissolution-precipitation\nsimulation:\n  n_obs: 10\n  t_end: 10.0\n"
        )
    return p


def _no_staging_left(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if ".staging-" in p.name]
    assert not left, left


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------
def test_every_command_is_registered():
    registered = {key.split(" (")[0] for key in COMMANDS} | set(NO_TABLE)  # "cmd (variant)"
    missing = _leaf_commands() - registered
    assert not missing, f"register these commands in the bad-input matrix: {sorted(missing)}"
    stale = registered - _leaf_commands()
    assert not stale, f"no such commands any more: {sorted(stale)}"


@pytest.mark.parametrize("case", TABLE_CASES)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_bad_table(command, case, tmp_path, request):
    spec = COMMANDS[command]
    if case == "duplicate_id" and spec.id is None:
        pytest.skip("the input has no sample ids")
    if case == "zero_log" and not spec.log and case not in spec.lenient:
        pytest.skip("no logarithm of this column")
    inp = _make_input(spec, case, tmp_path / "input.csv")
    out = tmp_path / "out"
    args = [*_args(spec.args, tmp_path, inp, request), "--out", str(out)]
    res = runner.invoke(app, args)
    if case in MUST_WORK:
        expected = {0}
    elif case in WORK_OR_REFUSE or case in spec.lenient:
        expected = {0, 2}
    else:
        expected = {2}
    _check_clean_failure(res, expected)
    _no_staging_left(tmp_path)
    if res.exit_code == 0:
        assert (out / "summary.json").is_file()
        return
    assert not out.exists(), sorted(p.name for p in out.rglob("*"))
    assert not (tmp_path / "saved").exists()
    if case == "missing":
        assert "no_such_file.csv" in res.stderr
    if case in ("empty", "binary", "header_only"):
        assert "input.csv" in res.stderr, res.stderr
    if case in ("non_numeric",):
        assert spec.num in res.stderr and "abc" in res.stderr, res.stderr
    if case in ("negative", "huge"):
        assert spec.num in res.stderr, res.stderr
    if case in ("non_numeric", "negative", "huge"):
        assert "row" in res.stderr, res.stderr
    if case == "misspelled":
        assert re.search(r"Mg0|Zr|radius|time|Class|Grt_XGrs|theta|aspect_ratio|'x'", res.stderr), (
            res.stderr
        )


def _out_commands() -> list[tuple[str, list[str]]]:
    rows = [(name, spec.args) for name, spec in COMMANDS.items()]
    rows += [(name, args) for name, args in NO_TABLE.items() if args is not None]
    return rows


@pytest.mark.parametrize("case", OUT_CASES)
@pytest.mark.parametrize(("command", "spec_args"), _out_commands(), ids=lambda v: str(v))
def test_bad_out(command, spec_args, case, tmp_path, request, monkeypatch):
    inp = tmp_path / "input.csv"
    if command in COMMANDS:
        inp.write_text(_csv(COMMANDS[command].table()))
    args = _args(spec_args, tmp_path, inp, request)
    if case == "out_is_file":
        out = tmp_path / "taken"
        out.write_text("do not touch")
    else:
        out = tmp_path / "locked"
        out.mkdir()
        (out / "old.txt").write_text("old")
        out.chmod(0o555)
        if os.geteuid() == 0:  # root writes anywhere: make the permission check see the lock
            real_access = os.access

            def access(path, mode, *a, **k):
                if Path(path).resolve() == out.resolve() and mode & os.W_OK:
                    return False
                return real_access(path, mode, *a, **k)

            monkeypatch.setattr(os, "access", access)
    before = _snapshot(out) if out.is_dir() else out.read_bytes()
    try:
        res = runner.invoke(app, [*args, "--out", str(out)])
    finally:
        if out.is_dir():
            out.chmod(0o755)
    _check_clean_failure(res, {2})
    assert "--out" in res.stderr and str(out.name) in res.stderr
    after = _snapshot(out) if out.is_dir() else out.read_bytes()
    assert after == before
    _no_staging_left(tmp_path)
    assert not (tmp_path / "saved").exists()


def test_late_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    """A failure while writing report.html (after the CSVs) leaves no output at all."""
    from petroinfer.report import Report

    def boom(self, path):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(Report, "save", boom)
    inp = tmp_path / "pairs.csv"
    inp.write_text(_csv(_pairs()))
    out = tmp_path / "out"
    res = runner.invoke(app, ["thermo", "thermobar", str(inp), "--out", str(out)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "No space left" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()
    _no_staging_left(tmp_path)
    # into an existing folder: its files stay as they were
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    res = runner.invoke(app, ["thermo", "thermobar", str(inp), "--out", str(out)])
    assert res.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_existing_out_folder_gets_replaced_files_and_keeps_others(tmp_path):
    inp = tmp_path / "pairs.csv"
    inp.write_text(_csv(_pairs()))
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "thermobar.csv").write_text("stale")
    res = runner.invoke(app, ["thermo", "thermobar", str(inp), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert (out / "notes.txt").read_text() == "mine"
    table = pd.read_csv(out / "thermobar.csv", index_col=0)
    assert list(table.index) == ["s1", "s2", "s3"] and np.isfinite(table["T_C"]).all()
    assert str(out) in res.stdout and ".staging-" not in res.stdout
    assert oct((out / "thermobar.csv").stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
