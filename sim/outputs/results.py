"""Result folders: atomic creation, manifest, the tidy Parquet table of every replicate.

A run writes into a hidden temporary folder beside its destination and renames it into place
only when every file is written, so an interrupted run never leaves a folder that looks
complete, and an existing folder is never overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.core.errors import MachineError, SettingError, SimError
from sim.core.provenance import CHECKOUT as CHECKOUT
from sim.core.provenance import source_commit as source_commit
from sim.core.provenance import version_line as version_line
from sim.model import rules
from sim.model.engine import Trajectories
from sim.model.params import Params

LIBRARIES = ("numpy", "mesa", "pandas", "pyarrow", "pydantic", "matplotlib", "typer", "pyyaml")


#: How the share tables' columns are named in their CSV files, whose values are in the unit
#: the name ends with: ``_pct`` a share in percent, ``_pp`` a difference of shares in
#: percentage points (in memory the tables hold fractions under the short names).
CSV_COLUMNS = {
    **{q: f"share_{q}_pct" for q in ("mean", "p5", "p25", "p50", "p75", "p95")},
    "mean_a": "share_a_pct", "mean_b": "share_b_pct",
    **{f"diff_{q}": f"effect_{q}_pp" for q in ("mean", "p5", "p50", "p95")},
    "sign_holds": "sign_holds_pct",
}


def write_share_csv(df: Any, path: Path) -> None:
    """Write a table of shares (or of their differences) as CSV, each share column in percent
    or percentage points and named so (:data:`CSV_COLUMNS`)."""
    out = df.copy()
    for column in CSV_COLUMNS:
        if column in out.columns:
            out[column] = 100 * out[column]
    out.rename(columns=CSV_COLUMNS).to_csv(path, index=False, float_format="%.6g")


def now() -> str:
    """UTC time as ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions of Python, this package and the libraries a result depends on, and the git
    commit of the checkout the package runs from, if it runs from one."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in ("regional-alignment-sim", *LIBRARIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    commit = source_commit()
    if commit is not None:
        out["git_commit"] = commit
    return out


def new_run_id() -> str:
    """A fresh, sortable run id: UTC timestamp plus a random suffix."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def check_out(out: Path, setting: str = "out") -> None:
    """Refuse a folder results cannot be written under, before anything is written.

    ``out`` need not exist yet: the nearest folder at or above it that does is checked.

    Raises:
        SettingError: ``out``, or a path above it, is a file (``setting`` names the option).
        MachineError: that folder is read-only or not ours to write in.
    """
    folder = out
    while not os.path.lexists(folder) and folder.parent != folder:
        folder = folder.parent
    if not folder.is_dir():
        what = "a file" if folder.exists() else "a broken link"
        found = f"{what}, {folder}" if folder == out else f"{what} above it, {folder}"
        raise SettingError(setting, f"expected a folder to write results under, found {found}")
    if not os.access(folder, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        raise MachineError(
            folder,
            "the folder is on a read-only file system" if read_only else "permission denied",
            "nothing was written",
        )


@contextlib.contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary folder that becomes ``final`` only if the block completes.

    Raises:
        SimError: if ``final`` already exists (results are never overwritten).
    """
    if final.exists():
        raise SimError(f"{final}: results folder already exists; results are never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".incomplete-{final.name}-{os.getpid()}"
    tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: Path, data: Any) -> None:
    """Write JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def replace_atomically(path: Path, write: Callable[[Path], object], fsync: bool = False) -> None:
    """Make ``path`` whole or not at all: ``write(tmp)`` writes a temporary file beside it,
    which is then renamed over ``path``; if writing fails (a full disk), the temporary file
    is removed and the error raised. ``fsync`` flushes the file and its folder to the disk."""
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"
    try:
        write(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    if fsync:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def tidy_table(traj: Trajectories, p: Params, scenario: str) -> pa.Table:
    """One row per replicate, round, state and power (long format, time as a column)."""
    n, R1, S, P = traj.alignment.shape
    rep = np.repeat(traj.replicates, R1 * S * P)
    rnd = np.tile(np.repeat(np.arange(R1), S * P), n)
    st = np.tile(np.repeat(np.arange(S), P), n * R1)
    pw = np.tile(np.arange(P), n * R1 * S)
    dates = np.array(p.dates, dtype="datetime64[D]")
    hedging = np.repeat(rules.hedging_index(traj.alignment).ravel(), P)
    return pa.table(
        {
            "scenario": pa.DictionaryArray.from_arrays(
                np.zeros(rep.size, np.int32), pa.array([scenario])
            ),
            "replicate": pa.array(rep, pa.int64()),
            "round": pa.array(rnd, pa.int32()),
            "date": pa.array(dates[rnd]),
            "state": pa.DictionaryArray.from_arrays(st.astype(np.int32), pa.array(p.states)),
            "power": pa.DictionaryArray.from_arrays(pw.astype(np.int32), pa.array(p.powers)),
            "alignment": pa.array(traj.alignment.ravel()),
            "debt_usd_bn": pa.array(traj.debt.ravel()),
            "delivered_usd_bn": pa.array(traj.delivered.ravel()),
            "hedging": pa.array(hedging),
        }
    )


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write a table as Parquet (zstd).

    Dictionary encoding is kept for the columns that repeat (names, rounds, dates) and left
    off the floating-point ones, whose values rarely repeat: trying it on them was a quarter of
    the time of writing 10,000 replicates' paths (1.84 s against 1.39 s for 10.25M rows), for a
    larger file (161 MB against 143 MB).
    """
    repeats = [f.name for f in table.schema if not pa.types.is_floating(f.type)]
    # pyarrow takes a list of columns here, though its type hints say bool
    pq.write_table(table, path, compression="zstd", use_dictionary=cast(Any, repeats))


def command_line() -> str:
    """The command line that started this process."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
