"""sim.outputs.results: atomic folders that never overwrite, and the tidy table of every
replicate."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_existing_results_folder_is_never_overwritten(tmp_path: Path):
    from sim.core.errors import SimError
    from sim.outputs.results import atomic_folder

    target = tmp_path / "x"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    with pytest.raises(SimError), atomic_folder(target):
        pass
    assert (target / "keep.txt").read_text() == "precious"


def test_interrupted_write_leaves_no_folder(tmp_path: Path):
    from sim.outputs.results import atomic_folder

    target = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), atomic_folder(target) as tmp:
        (tmp / "half.csv").write_text("a,b\n")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_tidy_table_has_one_row_per_replicate_round_state_and_power(tiny_params):
    import numpy as np

    from sim.model import engine, rules
    from sim.outputs.results import tidy_table

    p = tiny_params
    traj = engine.simulate(p, np.array([3, 4, 9]))
    table = tidy_table(traj, p, "tiny").to_pandas()
    n, R1, S, P = traj.alignment.shape
    assert len(table) == n * R1 * S * P
    row = table[(table["replicate"] == 9) & (table["round"] == 2) & (table["state"] == "BB")
                & (table["power"] == "PX")]
    (value,) = row["alignment"]
    assert value == traj.alignment[2, 2, p.states.index("BB"), p.powers.index("PX")]
    assert row["date"].iloc[0] == np.datetime64(p.dates[2])
    (h,) = row["hedging"]
    assert h == rules.hedging_index(traj.alignment[2, 2])[p.states.index("BB")]
