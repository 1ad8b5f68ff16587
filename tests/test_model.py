"""sim.model.abm: the Mesa model, its agents, mesa.batch_run, and its equality with the engine."""

from __future__ import annotations

from importlib.metadata import version

import mesa
import numpy as np
import pytest

from sim.model import engine
from sim.model.abm import AlignmentModel, run_replicates
from sim.model.params import build
from sim.scenario.factcheck import scenario_files
from sim.scenario.schema import load

from .conftest import CASES, ROOT, TINY

SCENARIOS = [*scenario_files(ROOT / "scenarios"), TINY, CASES / "every_event.yaml"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_mesa_path_equals_the_engine_bit_for_bit(path):
    """Every shipped scenario: the Mesa model's replicates are the engine's, to the last bit."""
    p = build(load(path))
    reps = np.array([0, 5])
    traj = engine.simulate(p, reps)
    mesa_path = run_replicates(p, reps, p.seed)
    for key in ("alignment", "debt", "delivered"):
        np.testing.assert_array_equal(getattr(mesa_path, key), getattr(traj, key), err_msg=key)


def test_model_from_a_loaded_scenario_equals_the_model_from_its_file():
    sc = load(TINY)
    runs = []
    for model in (AlignmentModel(scenario=sc, replicate=3), AlignmentModel(str(TINY), 3)):
        model.run_model()
        runs.append(model.trajectories()["alignment"])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert runs[0].shape[0] == build(sc).rounds + 1


def test_mesa_batch_run_runs_the_model():
    rows = mesa.batch_run(
        AlignmentModel,
        parameters={"scenario": str(TINY), "replicate": [0, 1, 2]},
        max_steps=100,
        number_processes=1,
        display_progress=False,
    )
    assert len(rows) == 3
    p = build(load(TINY))
    # The model collects at the end of every round. Mesa 3.3's batch_run labels its rows by
    # index into the collected values (the final state is index rounds - 1); Mesa 3.5 labels
    # them by the model's time (rounds).
    mesa_35 = tuple(int(x) for x in version("mesa").split(".")[:2]) >= (3, 5)
    for row in rows:
        assert row["Step"] == (p.rounds if mesa_35 else p.rounds - 1)
        shares = [row[f"share_{c}"] for c in p.powers]
        assert abs(sum(shares) - 1.0) < 1e-12
        # batch_run's final values are the engine's final values for that replicate
        traj = engine.simulate(p, np.array([row["replicate"]]))
        assert row["AA:PX"] == pytest.approx(traj.alignment[0, -1, 0, 0], abs=1e-12)


def test_model_agents_are_mesa_agents_with_read_only_views(tiny_params):
    model = AlignmentModel(params=tiny_params, replicate=0)
    assert len(model.agents) == len(tiny_params.states) + len(tiny_params.powers)
    model.step()
    view = model.state_agents[0].alignment
    with pytest.raises(ValueError):
        view[0] = 0.5
    assert 0.0 <= model.state_agents[0].hedging <= 1.0
    np.testing.assert_allclose(sum(pw.regional_share for pw in model.power_agents), 1.0)
