"""A Dask cluster on this machine's loopback, for trying ``sim sweep --scheduler`` locally.

    with loopback_cluster(folder, workers=2) as address:   # "tcp://127.0.0.1:PORT"
        ...

Starts ``dask scheduler`` and ``dask worker`` (single-threaded workers, no dashboards, no
memory limit) as separate processes of their own session, exactly as on a real cluster, and
stops them on exit. The tests and ``benchmarks/sweep_bench.py`` use it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def loopback_cluster(folder: Path, workers: int = 2, timeout: float = 60) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1; yields its address.

    Raises:
        RuntimeError: if the scheduler does not start within ``timeout`` seconds.
    """
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    sched_file = folder / "scheduler.json"
    opts: dict[str, object] = dict(
        cwd=folder, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    procs = [
        subprocess.Popen(  # type: ignore[call-overload]
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(sched_file)],
            **opts,
        )
    ]
    try:
        end = time.monotonic() + timeout
        while not (sched_file.is_file() and sched_file.stat().st_size):
            if procs[0].poll() is not None:
                raise RuntimeError(f"the Dask scheduler ended (status {procs[0].returncode})")
            if time.monotonic() > end:
                raise RuntimeError(f"the Dask scheduler did not start within {timeout} s")
            time.sleep(0.05)
        address: str = json.loads(sched_file.read_text())["address"]
        procs.append(
            subprocess.Popen(  # type: ignore[call-overload]
                [dask, "worker", address, "--nworkers", str(workers), "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", "0"],
                **opts,
            )
        )
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=timeout)
        yield address
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
