"""``import petroinfer.inference`` is lazy (PEP 562): names load their module on first use."""

from __future__ import annotations

import subprocess
import sys

import petroinfer.inference as inference


def test_import_loads_no_implementation_module():
    code = (
        "import sys, petroinfer.inference as m\n"
        "heavy = [k for k in sys.modules if k.startswith('petroinfer.inference.') "
        "or k.split('.')[0] in ('xarray', 'arviz_stats', 'scipy', 'pandas')]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves_and_dir_lists_it():
    for name in inference.__all__:
        obj = getattr(inference, name)
        assert obj.__name__ == name
    assert set(inference.__all__) <= set(dir(inference))
    assert {"gmrf", "remc", "smc"} <= set(dir(inference))
    assert inference.remc.ReplicaExchange is inference.ReplicaExchange


def test_unknown_name_is_attribute_error():
    try:
        inference.NoSuchThing
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_all_matches_the_lazy_table():
    assert set(inference.__all__) == set(inference._LAZY)
    assert len(inference.__all__) == len(set(inference.__all__))
