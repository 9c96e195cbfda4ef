"""atomic_write / atomic_path: permissions follow the umask, errors name the target file."""

from __future__ import annotations

import os
import stat

import pytest

from petroinfer.io import atomic_path, atomic_write


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def test_results_get_the_umask_permissions_like_any_other_file(tmp_path, umask_027):
    with atomic_write(tmp_path / "results.csv") as fh:
        fh.write("a,b\n1,2\n")
    with atomic_path(tmp_path / "fig.png") as tmp:
        tmp.write_bytes(b"\x89PNG")
    with open(tmp_path / "plain.txt", "w") as fh:  # what an ordinary file gets
        fh.write("x")
    mode = stat.S_IMODE((tmp_path / "results.csv").stat().st_mode)
    assert mode == 0o640 == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)
    assert stat.S_IMODE((tmp_path / "fig.png").stat().st_mode) == 0o640
    assert (tmp_path / "results.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png", "plain.txt", "results.csv"]


def test_other_umask(tmp_path):
    old = os.umask(0o002)
    try:
        with atomic_write(tmp_path / "r.csv") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.csv").stat().st_mode) == 0o664


def test_failure_names_the_target_not_the_temporary_file(tmp_path):
    target = tmp_path / "validated.csv"
    with pytest.raises(PermissionError) as err, atomic_path(target) as tmp:
        raise PermissionError(13, "Permission denied", str(tmp))
    assert err.value.filename == str(target)
    assert ".tmp" not in str(err.value) and "validated.csv" in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_failure_leaves_existing_target_untouched(tmp_path):
    target = tmp_path / "r.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as fh:
        fh.write("new")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_unwritable_folder_names_the_target(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError) as err, atomic_write(blocker / "sub" / "r.csv") as fh:
        fh.write("x")
    assert ".tmp" not in str(err.value)
    assert str(blocker / "sub" / "r.csv") == err.value.filename
