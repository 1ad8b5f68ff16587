"""The engine's compiled path: numpy's noise bit for bit, numpy's numbers on every scenario.

Where this machine's numpy computes ``exp`` and ``log`` as its C library does (checked by
:func:`sim.model.compiled.agrees`), the paths must agree bit for bit; elsewhere to rounding.
The numpy path stands alone where numba is missing (a run with numba hidden checks it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sim.core.errors import SimError
from sim.model import engine
from sim.model.params import build
from sim.model.rng import noise_stream
from sim.runs.batch import simulate_batch
from sim.scenario.schema import load

from .conftest import CASES, ROOT, TINY
from .test_batch import ARCHIPELAGO, FLAGSHIP, HISTORY, batchable, points, trajectories, wide

compiled = pytest.importorskip("sim.model.compiled", reason="numba is not installed")

SEEDS = np.array([0, 20251220, 2**32, 2**63 + 5, 2**64 - 1, 20251220], dtype=np.uint64)
REPS = np.array([0, 64, 3, 2**32 - 1, 1, 5])
LIBRARY = sorted((ROOT / "scenarios").glob("*.yaml")) + sorted(
    (ROOT / "scenarios" / "examples").glob("*.yaml")
)


def same(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Bit for bit where this machine's numpy is its C library; else to rounding."""
    if compiled.agrees():
        assert np.array_equal(got, want), f"{what}: differs by {np.abs(got - want).max()}"
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=what)


@pytest.fixture
def on_numpy(monkeypatch: pytest.MonkeyPatch):
    def use(name: str) -> None:
        monkeypatch.setenv(engine.BACKEND_VARIABLE, name)

    return use


# --------------------------------------------------------------------------- noise


def test_the_noise_is_numpys_bit_for_bit_through_the_ziggurats_rare_branches():
    count = 6000
    got = compiled.normals(SEEDS, REPS, count)
    for j, (s, k) in enumerate(zip(SEEDS.tolist(), REPS.tolist(), strict=True)):
        np.testing.assert_array_equal(got[j], noise_stream(s, k).standard_normal(count))
    # the tail beyond the base layer (its own loop of log1p) was drawn, not only the layers
    assert (np.abs(got) > compiled._NOR_R).sum() > 0


def test_one_root_seed_for_every_replicate():
    got = compiled.normals(7, np.arange(3), 50)
    for k in range(3):
        np.testing.assert_array_equal(got[k], noise_stream(7, k).standard_normal(50))


def test_a_changed_algorithm_is_noticed_and_numpy_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(engine.BACKEND_VARIABLE, "auto")
    compiled.agrees.cache_clear()
    monkeypatch.setattr(compiled, "normals", lambda *a: np.zeros((4, 20_000)))
    try:
        assert compiled.agrees() is False
        assert engine.backend(build(load(TINY)), 10**9) == "numpy"
    finally:
        compiled.agrees.cache_clear()


# --------------------------------------------------------------------------- paths


@pytest.mark.parametrize("path", [*LIBRARY, HISTORY, CASES / "every_event.yaml"],
                         ids=lambda p: p.stem)
def test_every_scenario_plays_the_same_on_both_paths(path: Path, on_numpy):
    p = build(load(path))
    reps = np.arange(compiled.PARALLEL_FROM + 6)  # on every core
    got = compiled.simulate(p, p.seed, reps, np.zeros(reps.size, np.int64),
                            engine.TRAJECTORIES)
    on_numpy("numpy")
    want = engine.simulate(p, reps)
    for name in engine.TRAJECTORIES:
        same(got[name], getattr(want, name), f"{path.stem} {name}")


def test_a_region_wider_than_eight_plays_the_same(tmp_path: Path, on_numpy):
    p = build(wide(tmp_path))  # sums over 10 states and 9 powers
    on_numpy("numba")
    got = engine.simulate(p, np.arange(5), 3)
    on_numpy("numpy")
    want = engine.simulate(p, np.arange(5), 3)
    for name in engine.TRAJECTORIES:
        same(getattr(got, name), getattr(want, name), f"wide {name}")


@pytest.mark.parametrize("path", [FLAGSHIP, ARCHIPELAGO, HISTORY], ids=lambda p: p.stem)
def test_a_batch_of_points_plays_the_same_on_both_paths(path: Path, on_numpy):
    sc = load(path)
    patch, x = points(sc, batchable(sc), 4)
    seeds = np.array([5, 2**63 + 1, 5, 77], dtype=np.uint64)
    keep = engine.TRAJECTORIES
    on_numpy("numba")
    got = simulate_batch(patch, x, 3, seeds, reduce=trajectories, keep=keep)
    on_numpy("numpy")
    want = simulate_batch(patch, x, 3, seeds, reduce=trajectories, keep=keep)
    same(got, want, path.stem)


def test_threads_and_what_is_kept_change_nothing(monkeypatch: pytest.MonkeyPatch):
    p = build(load(FLAGSHIP))
    reps = np.arange(100)
    zeros = np.zeros(reps.size, np.int64)
    threaded = compiled.simulate(p, 11, reps, zeros, engine.TRAJECTORIES)
    monkeypatch.setattr(compiled, "PARALLEL_FROM", 10**9)
    one = compiled.simulate(p, 11, reps, zeros, ("debt",))
    assert set(one) == {"debt"}
    np.testing.assert_array_equal(one["debt"], threaded["debt"])
    np.testing.assert_array_equal(compiled.simulate(p, 11, reps[7:9], zeros[:2],
                                                    ("alignment",))["alignment"],
                                  threaded["alignment"][7:9])


def test_threads_only_from_the_main_thread_of_the_main_process():
    import threading

    assert compiled.threaded()
    seen: list[bool] = []
    t = threading.Thread(target=lambda: seen.append(compiled.threaded()))
    t.start()
    t.join()
    assert seen == [False]


# --------------------------------------------------------------------------- the choice


def test_the_backend_is_chosen_by_the_variable_the_work_and_the_scenario(
    monkeypatch: pytest.MonkeyPatch,
):
    p = build(load(TINY))
    monkeypatch.delenv(engine.BACKEND_VARIABLE, raising=False)
    assert engine.backend(p, engine.COMPILED_FROM) == "numba"
    # a small call does not load numba, unless it is loaded already
    monkeypatch.delitem(sys.modules, "sim.model.compiled")
    assert engine.backend(p, engine.COMPILED_FROM - 1) == "numpy"
    monkeypatch.setitem(sys.modules, "sim.model.compiled", compiled)
    assert engine.backend(p, 1) == "numba"
    monkeypatch.setenv(engine.BACKEND_VARIABLE, "numpy")
    assert engine.backend(p, 10**9) == "numpy"
    monkeypatch.setenv(engine.BACKEND_VARIABLE, " Numba ")
    assert engine.backend(p, 1) == "numba"
    big = SimpleNamespace(states=[f"S{i}" for i in range(17)], powers=["A", "B"])
    assert engine.backend(big, 10**9) == "numpy"  # type: ignore[arg-type]


def test_a_bad_backend_and_a_missing_numba_are_one_line_errors(monkeypatch: pytest.MonkeyPatch):
    p = build(load(TINY))
    monkeypatch.setenv(engine.BACKEND_VARIABLE, "fortran")
    with pytest.raises(SimError, match=r"^environment variable SIM_ENGINE_BACKEND: expected one "
                       r"of auto, numba, numpy, found 'fortran'$"):
        engine.backend(p, 1)
    monkeypatch.setattr(engine, "numba_installed", lambda: False)
    monkeypatch.setenv(engine.BACKEND_VARIABLE, "numba")
    with pytest.raises(SimError, match="numba was asked for, but it is not installed"):
        engine.backend(p, 1)
    monkeypatch.setenv(engine.BACKEND_VARIABLE, "auto")
    assert engine.backend(p, 10**9) == "numpy"


EXPECTED = """
import sys
from sim.model import engine
from sim.model.params import build
from sim.scenario.schema import load
from sim.runs.batch import Patch, simulate_batch
import numpy as np
p = build(load(sys.argv[1]))
engine.simulate(p, range(3))
engine.expect(p, engine.COMPILED_FROM - 1)
small = "sim.model.compiled" in sys.modules
patch = Patch.bind(load(sys.argv[1]), {"beta": "dynamics.sharpness"})
x = np.linspace(1.0, 2.0, 250)[:, None]  # 250 points x 100 replicates x 40 rounds: a job of 1M
simulate_batch(patch, x, 100, np.arange(250, dtype=np.uint64), chunk=512)
print(small, "sim.model.compiled" in sys.modules, engine.backend(p, 1))
"""


def test_a_large_job_compiles_all_its_calls_and_a_small_one_none():
    env = {k: v for k, v in os.environ.items() if k != engine.BACKEND_VARIABLE}
    out = subprocess.run([sys.executable, "-c", EXPECTED, str(FLAGSHIP)], env=env,
                         capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    # blocks of 512 point-replicates are far below a million each, yet the job compiles
    assert out.stdout.split() == ["False", "True", "numba" if compiled.agrees() else "numpy"]


HIDDEN = """
import sys
sys.modules["numba"] = None  # as if it were not installed
from sim.model import engine
from sim.model.params import build
from sim.scenario.schema import load
p = build(load(sys.argv[1]))
t = engine.simulate(p, range(int(sys.argv[2])))
assert engine.backend(p, 10**9) == "numpy"
assert "sim.model.compiled" not in sys.modules
print(t.alignment[:, -1].sum().hex())
"""


def test_without_numba_the_engine_runs_on_numpy_alone(on_numpy):
    reps = engine.COMPILED_FROM // 40 + 1  # large enough that auto would compile
    env = {k: v for k, v in os.environ.items() if k != engine.BACKEND_VARIABLE}
    out = subprocess.run([sys.executable, "-c", HIDDEN, str(FLAGSHIP), str(reps)], env=env,
                         capture_output=True, text=True, check=False, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    p = build(load(FLAGSHIP))
    with_numba = compiled.simulate(p, p.seed, np.arange(reps), np.zeros(reps, np.int64),
                                   ("alignment",))["alignment"]
    if compiled.agrees():
        assert out.stdout.strip() == with_numba[:, -1].sum().hex()


def test_the_command_line_names_a_bad_backend_in_one_line(tmp_path: Path):
    env = dict(os.environ, SIM_ENGINE_BACKEND="gpu", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "sim", "run", str(TINY), "--no-plots",
                          "--out", str(tmp_path)], capture_output=True, text=True,
                         check=False, cwd=ROOT, timeout=300, env=env)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert errors == [out.stderr.strip().splitlines()[-1]], out.stderr
    assert "SIM_ENGINE_BACKEND" in errors[0] and "'gpu'" in errors[0]
    assert not any(tmp_path.rglob("manifest.json"))
