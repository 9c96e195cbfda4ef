"""Tests of :mod:`petroinfer.parallel` on an embedded LocalCluster and on a real subprocess cluster."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from petroinfer.errors import InputError, ModelError, PetroinferError, TaskError
from petroinfer.parallel import SCHEDULER_ENV, get_client, map_tasks

# Workers started as separate processes cannot import this test module by name, so its functions are
# shipped by value (what cloudpickle does for functions defined in a user's script or notebook).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

N_ITEMS = 8


def _reverse_sleeper(i: int) -> int:
    """Later items finish first, so completion order is the reverse of input order."""
    time.sleep(0.03 * (N_ITEMS - i))
    return i * i


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError(f"cannot handle {x}")
    return x


def _where(x: int) -> tuple[int, str]:
    from distributed import get_worker

    return x, get_worker().address


def _cancel_own_task_on_one(x: int) -> int:
    """Item 1 cancels its own future (as a user or a lost worker would) and then lingers."""
    if x == 1:
        from distributed import Future, get_client, get_worker

        client = get_client()
        client.cancel([Future(get_worker().get_current_task(), client)], force=True)
        time.sleep(0.5)
    return x


def _norm(a: np.ndarray) -> float:
    return float(np.linalg.norm(a))


# --------------------------------------------------------------------------- embedded LocalCluster
def test_local_results_in_input_order(recwarn):
    with socket.socket() as busy:  # a user's own Dask dashboard holding the default port
        with contextlib.suppress(OSError):
            busy.bind(("127.0.0.1", 8787))
            busy.listen()
        out = map_tasks(_reverse_sleeper, range(N_ITEMS), progress=False, n_workers=N_ITEMS)
    assert not [w for w in recwarn if "already in use" in str(w.message)]
    assert out == [i * i for i in range(N_ITEMS)]


def test_local_arrays_and_identical_items_each_evaluated():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=5) for _ in range(4)] + [np.ones(4)] * 2
    out = map_tasks(_norm, arrays, progress=False, n_workers=2)
    np.testing.assert_allclose(out, [np.linalg.norm(a) for a in arrays], rtol=1e-12)


def test_local_error_names_index_and_item():
    with pytest.raises(TaskError) as info:
        map_tasks(_fail_on_three, [0, 1, 2, 3, 4], progress=False, n_workers=2)
    err = info.value
    assert isinstance(err, PetroinferError)
    assert err.index == 3 and err.item == 3
    assert "task 3 of 5" in str(err) and "item 3" in str(err)
    assert "ValueError: cannot handle 3" in str(err)
    assert isinstance(err.__cause__, ValueError)
    assert str(err.__cause__) == "cannot handle 3"


def test_cancelled_task_is_reported_with_its_item():
    with pytest.raises(TaskError, match=r"task 1 of 3 .* item 1 ended with status 'cancelled'"):
        map_tasks(_cancel_own_task_on_one, [0, 1, 2], progress=False, n_workers=2)


def test_long_item_repr_is_truncated():
    item = "x" * 1000
    with pytest.raises(TaskError) as info:
        map_tasks(int, [item], progress=False, n_workers=1)
    assert len(str(info.value)) < 600
    assert info.value.item == item


def test_local_processes_cluster():
    out = map_tasks(_where, range(4), progress=False, n_workers=2, processes=True)
    assert [x for x, _ in out] == list(range(4))
    assert all(addr.startswith("tcp://127.0.0.1") for _, addr in out)


def test_function_not_importable_on_workers_is_a_task_error(tmp_path, monkeypatch):
    """A function whose module the workers cannot import fails its task; the client never hangs."""
    with get_client(
        n_workers=1, processes=True
    ) as client:  # workers start before the module exists
        (tmp_path / "only_here_mod.py").write_text("def twice(x):\n    return 2 * x\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        import only_here_mod

        t0 = time.perf_counter()
        with pytest.raises(TaskError, match=r"task [01] of 2 .*ModuleNotFoundError"):
            map_tasks(only_here_mod.twice, [1, 2], scheduler=client, progress=False)
        assert time.perf_counter() - t0 < 60
        # registered by value, the same function runs there
        cloudpickle.register_pickle_by_value(only_here_mod)
        try:
            assert map_tasks(only_here_mod.twice, [1, 2], scheduler=client, progress=False) == [
                2,
                4,
            ]
        finally:
            cloudpickle.unregister_pickle_by_value(only_here_mod)
            sys.modules.pop("only_here_mod", None)


def test_progress_bar_written_to_stderr(capsys):
    out = map_tasks(abs, [-1, -2], progress=True, n_workers=1, description="abs-demo")
    assert out == [1, 2]
    captured = capsys.readouterr()
    assert "abs-demo" in captured.err
    assert "2/2" in captured.err
    assert captured.out == ""


def test_empty_and_bad_arguments():
    assert map_tasks(abs, [], progress=False) == []
    with pytest.raises(InputError, match="callable"):
        map_tasks("not a function", [1], progress=False)
    with pytest.raises(ModelError, match="n_workers"):
        map_tasks(abs, [1], progress=False, n_workers=0)
    with pytest.raises(ModelError, match="scheduler"):
        map_tasks(abs, [1], scheduler=8786, progress=False)


def test_get_client_reuses_one_cluster():
    with get_client(n_workers=2) as client:
        a = map_tasks(abs, [-1, -2, 3], scheduler=client, progress=False)
        b = map_tasks(_fail_on_three, [1, 2], scheduler=client, progress=False)
        with pytest.raises(TaskError):
            map_tasks(_fail_on_three, [3], scheduler=client, progress=False)
        # the client survives a failed map and stays usable
        c = map_tasks(abs, [-7], scheduler=client, progress=False)
        assert client.status == "running"
    assert (a, b, c) == ([1, 2, 3], [1, 2], [7])
    assert client.status == "closed"


def test_unreachable_scheduler_is_input_error():
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="cannot connect"):
        with get_client(f"tcp://127.0.0.1:{port}", timeout=2):
            pass
    assert time.perf_counter() - t0 < 15


# --------------------------------------------------------------------------- subprocess cluster
def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


_SCHEDULER_CMD = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
_SCHEDULER_CMD += "--host 127.0.0.1 --port 0 --no-dashboard --dashboard-address 127.0.0.1:0".split()
_WORKER_ARGS = "--host 127.0.0.1 --nworkers 1 --nthreads 2 --no-nanny --no-dashboard"


def _wait_for_address(sched_file: Path, proc: subprocess.Popen, tail, timeout: float = 30) -> str:
    """Address from the scheduler file, once the scheduler has written it completely."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError):
            return json.loads(sched_file.read_text())["address"]
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("dask scheduler did not start:\n" + tail())
        time.sleep(0.1)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A real ``dask scheduler`` + ``dask worker`` pair on 127.0.0.1 (OS-chosen free port)."""
    from distributed import Client

    tmp = tmp_path_factory.mktemp("dask")
    sched_file = tmp / "scheduler.json"
    logs = {name: open(tmp / f"{name}.log", "wb") for name in ("scheduler", "worker")}
    procs: list[subprocess.Popen] = []

    def tail() -> str:
        return "\n".join(
            f"--- {name}:\n" + Path(fh.name).read_text(errors="replace")[-2000:]
            for name, fh in logs.items()
        )

    try:
        procs.append(
            subprocess.Popen(
                [*_SCHEDULER_CMD, "--scheduler-file", str(sched_file)],
                stdout=logs["scheduler"],
                stderr=subprocess.STDOUT,
            )
        )
        address = _wait_for_address(sched_file, procs[0], tail)
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    address,
                    *_WORKER_ARGS.split(),
                ],
                stdout=logs["worker"],
                stderr=subprocess.STDOUT,
            )
        )
        with Client(address, timeout=30, set_as_default=False) as client:
            try:
                client.wait_for_workers(1, timeout=30)
            except TimeoutError:
                pytest.fail("dask worker did not register:\n" + tail())
            workers = set(client.scheduler_info()["workers"])
        yield address, workers
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for fh in logs.values():
            with contextlib.suppress(OSError):
                fh.close()


def test_remote_results_in_order_and_run_on_remote_worker(dask_cluster):
    address, workers = dask_cluster
    out = map_tasks(_reverse_sleeper, range(N_ITEMS), scheduler=address, progress=False)
    assert out == [i * i for i in range(N_ITEMS)]
    where = map_tasks(_where, range(4), scheduler=address, progress=False)
    assert [x for x, _ in where] == [0, 1, 2, 3]
    assert {addr for _, addr in where} <= workers


def test_remote_error_names_item(dask_cluster):
    address, _ = dask_cluster
    with pytest.raises(TaskError) as info:
        map_tasks(_fail_on_three, [5, 3, 1], scheduler=address, progress=False)
    assert info.value.index == 1 and info.value.item == 3
    assert "task 1 of 3" in str(info.value) and "item 3" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    # the cluster is still usable after a failed map
    assert map_tasks(abs, [-2], scheduler=address, progress=False) == [2]


def test_scheduler_from_environment(dask_cluster, monkeypatch):
    address, workers = dask_cluster
    monkeypatch.setenv(SCHEDULER_ENV, address)
    out = map_tasks(_where, [10, 11], progress=False)
    assert [x for x, _ in out] == [10, 11]
    assert {addr for _, addr in out} <= workers
