"""A sweep's folder: written so that killing the process at any moment loses nothing finished.

Layout of ``results/<scenario>/sweeps/<id>/``::

    manifest.json       what was run, by whom, how (rewritten atomically at each stage)
    sweep.yaml          the sweep as resolved: every field explicit
    scenario.yaml       the base scenario with every value a plain number (provenance kept)
    facts/sources.yaml  the facts the scenario's events cite as their sources, if any
    design.parquet      every point: index, root seed, one column per parameter
    chunks/*.parquet    outcome rows, one file per finished batch, while the sweep runs
    outcomes.parquet    when complete: the design joined with the outcomes, one row per point
    sensitivity.csv, prim_*.csv, report.txt, plots/   the analysis

The folder appears in one rename, with its definition and design complete (an interrupted
start leaves nothing). Every later file is written under a temporary name, flushed to disk and
renamed, so a file either exists whole or not at all. Resuming reads which points the chunks
hold and runs only the others; a lock keeps two processes from running one sweep at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.core.errors import SimError
from sim.core.yamlio import dump_yaml
from sim.outputs import results
from sim.outputs.results import atomic_folder
from sim.scenario.facts import Registry, load_registry

CHUNKS = "chunks"
TMP_PREFIX = ".tmp-"
#: The facts a scenario's events cite, stored so that the sweep resumes without the registry.
SOURCES = "facts/sources.yaml"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file (named ``.tmp-*``), flushed to disk,
    then renamed; a failed write (a full disk) leaves no temporary file behind."""
    results.replace_atomically(path, lambda tmp: tmp.write_bytes(data), fsync=True)


def parquet_bytes(table: pa.Table) -> bytes:
    """A table serialised as Parquet (zstd)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, default=str) + "\n").encode("utf-8")


def sources_bytes(registry: Registry) -> bytes:
    """A registry's entries as one facts file (what :meth:`SweepStore.sources` reads back)."""
    entries = [e.model_dump(mode="json", exclude_none=True) for e in registry.entries.values()]
    return dump_yaml(entries).encode("utf-8")


class SweepStore:
    """Reads and writes one sweep folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # ----------------------------------------------------------------- creation and locking

    @classmethod
    def create(cls, final: Path, files: dict[str, bytes]) -> SweepStore:
        """Create the folder with its initial files in one rename.

        Raises:
            SimError: if ``final`` exists (a sweep is never overwritten).
        """
        with atomic_folder(final) as tmp:
            (tmp / CHUNKS).mkdir()
            for name, data in files.items():
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                (tmp / name).write_bytes(data)
        return cls(final)

    @classmethod
    def open(cls, folder: Path) -> SweepStore:
        """An existing sweep folder.

        Raises:
            SimError: if the folder is not a sweep folder.
        """
        for name in ("manifest.json", "sweep.yaml", "scenario.yaml", "design.parquet"):
            if not (folder / name).is_file():
                what = (
                    "no such folder" if not folder.is_dir() else f"not a sweep folder (no {name})"
                )
                raise SimError(f"{folder}: {what}")
        return cls(folder)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the sweep's lock (released by the OS if the process dies).

        Raises:
            SimError: if another process holds it.
        """
        with (self.folder / ".lock").open("a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                raise SimError(f"{self.folder}: sweep is being run by {holder}") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"process {os.getpid()}")
            fh.flush()
            try:
                yield
            finally:
                fh.seek(0)
                fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)

    # ----------------------------------------------------------------- definition

    def read_manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / "manifest.json").read_text(encoding="utf-8")))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_atomic(self.folder / "manifest.json", json_bytes(manifest))

    def sources(self) -> Registry:
        """The facts the scenario's events cite (:data:`SOURCES`; none if it has no file)."""
        path = self.folder / SOURCES
        if not path.is_file():
            return Registry(folder=path.parent, entries={}, files={})
        return load_registry(path.parent)

    def read_design(self) -> pd.DataFrame:
        return pq.read_table(self.folder / "design.parquet").to_pandas()

    def write_file(self, name: str, data: bytes) -> None:
        """Write a file of the folder atomically (subfolders are made)."""
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)

    # ----------------------------------------------------------------- outcomes

    @property
    def complete(self) -> bool:
        return (self.folder / "outcomes.parquet").is_file()

    def write_chunk(self, columns: Mapping[str, np.ndarray]) -> None:
        """Write finished points' outcomes (``point`` and one column per outcome) as one chunk
        file."""
        if not len(columns["point"]):
            return
        table = pa.table(
            {
                c: pa.array(np.asarray(v), pa.int64() if c == "point" else pa.float64())
                for c, v in columns.items()
            }
        )
        first = int(np.min(columns["point"]))
        self.write_file(
            f"{CHUNKS}/points-{first:09d}-{uuid.uuid4().hex[:8]}.parquet", parquet_bytes(table)
        )

    def _chunk_files(self) -> list[Path]:
        folder = self.folder / CHUNKS
        for stale in folder.glob(f"{TMP_PREFIX}*"):
            stale.unlink()  # a write killed before its rename: those points were never done
        return sorted(folder.glob("*.parquet"))

    def done_points(self) -> np.ndarray:
        """Indices of the points whose outcomes are on disk (sorted, unique)."""
        if self.complete:
            return np.sort(
                pq.read_table(self.folder / "outcomes.parquet", columns=["point"])
                .column("point")
                .to_numpy()
            )
        parts = [self._read(path, ["point"]) for path in self._chunk_files()]
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.concatenate([t.column("point").to_numpy() for t in parts]))

    def _read(self, path: Path, columns: list[str] | None = None) -> pa.Table:
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowInvalid) as err:
            raise SimError(
                f"{path}: unreadable chunk ({err}); delete it to rerun its points"
            ) from None

    def read_outcomes(self) -> pd.DataFrame:
        """Every outcome row on disk, one per point, sorted by point."""
        if self.complete:
            return pq.read_table(self.folder / "outcomes.parquet").to_pandas()
        files = self._chunk_files()
        if not files:
            return pd.DataFrame({"point": pd.Series(dtype="int64")})
        df = pd.concat([self._read(f).to_pandas() for f in files], ignore_index=True)
        dup = df.duplicated("point", keep=False)
        if dup.any():
            # the same point twice can only hold the same numbers (points are deterministic)
            first = df[dup].drop_duplicates()
            if first["point"].duplicated().any():
                raise SimError(
                    f"{self.folder}: chunks disagree about a point; the sweep is corrupt"
                )
            df = df.drop_duplicates("point")
        return df.sort_values("point", ignore_index=True)

    def finish(self, table: pd.DataFrame) -> None:
        """Write the complete table, then drop the chunks it was built from."""
        self.write_file(
            "outcomes.parquet", parquet_bytes(pa.Table.from_pandas(table, preserve_index=False))
        )
        for path in self._chunk_files():
            path.unlink()
        with contextlib.suppress(OSError):
            (self.folder / CHUNKS).rmdir()
