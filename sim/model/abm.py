"""The Mesa model: agents hold identity and read-only views; the maths is in :mod:`sim.model.rules`.

``AlignmentModel`` is a plain Mesa 3 model: it is seeded through Mesa's own ``rng`` argument,
has a ``DataCollector`` and runs under ``mesa.batch_run``. Each round (``step``) plays
:func:`sim.model.kernel.advance` once with noise from the replicate's stream (see
:mod:`sim.model.rng`),
so replicate ``k`` of this model equals replicate ``k`` of the ensemble engine.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mesa
import numpy as np

from sim.core import shipped
from sim.model import kernel, rules
from sim.model.engine import Trajectories
from sim.model.params import Params, build
from sim.model.rng import NOISE_CHANNELS, model_stream, noise_stream
from sim.scenario.schema import Scenario, load

DEFAULT_SCENARIO = shipped.FLAGSHIP


@functools.lru_cache(maxsize=32)
def cached_params(path: str, overrides: tuple[str, ...] = (), rounds: int | None = None) -> Params:
    """Arrays of a scenario file, loaded once per process (batch runs build many models)."""
    return build(load(Path(path), overrides), rounds)


class StateAgent(mesa.Agent):  # type: ignore[misc]
    """A state of the region: its identity, and views of its alignment."""

    def __init__(self, model: AlignmentModel, idx: int, code: str) -> None:
        super().__init__(model)
        self.idx = idx
        self.code = code

    @property
    def alignment(self) -> np.ndarray:
        """This state's alignment over the powers (read-only view)."""
        view = self.model.state.alignment[self.idx]
        view.flags.writeable = False
        out: np.ndarray = view
        return out

    @property
    def hedging(self) -> float:
        """Normalised entropy of this state's alignment."""
        return float(rules.hedging_index(self.model.state.alignment[self.idx]))


class PowerAgent(mesa.Agent):  # type: ignore[misc]
    """An external power: its identity, and a view of its regional share."""

    def __init__(self, model: AlignmentModel, idx: int, code: str) -> None:
        super().__init__(model)
        self.idx = idx
        self.code = code

    @property
    def regional_share(self) -> float:
        """This power's share of the region's alignment."""
        share = rules.regional_share(self.model.state.alignment, self.model.params.region_w)
        return float(share[self.idx])


class AlignmentModel(mesa.Model):  # type: ignore[misc]
    """Alignment of a region's states with external powers, round by round.

    Built from a frozen description of one scenario, either a loaded :class:`Scenario` or a
    scenario file (read once per process), or its prebuilt :class:`Params`; nothing about the
    model is set after construction. That is the shape Mesa 4's ``run_scenarios`` expects of a
    model (see docs/ODD.md, "Running the Mesa model").

    Args:
        scenario: a loaded scenario, or the path of a scenario file (ignored when ``params``
            is given).
        replicate: which replicate of the scenario's seed this model plays.
        seed: root seed (default: the scenario's).
        rounds: number of rounds (default: the scenario's calendar).
        overrides: ``path=value`` overrides, as with ``sim run --set``.
        params: prebuilt arrays (skips loading the file).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path = DEFAULT_SCENARIO,
        replicate: int = 0,
        seed: int | None = None,
        rounds: int | None = None,
        overrides: Sequence[str] = (),
        params: Params | None = None,
    ) -> None:
        if params is not None:
            p = params
        elif isinstance(scenario, Scenario):
            p = build(scenario, rounds)
        else:
            p = cached_params(str(scenario), tuple(overrides), rounds)
        root = p.seed if seed is None else int(seed)
        super().__init__(rng=model_stream(root, replicate))
        self.params = p
        self.seed_root = root
        self.replicate = replicate
        self.rounds = p.rounds
        self.state = kernel.initial_state(p)
        self.state_agents = [StateAgent(self, i, c) for i, c in enumerate(p.states)]
        self.power_agents = [PowerAgent(self, i, c) for i, c in enumerate(p.powers)]
        self.noise = noise_stream(root, replicate)
        self.history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._record()
        reporters: dict[str, Any] = {
            f"share_{pw.code}": functools.partial(_share, i=pw.idx) for pw in self.power_agents
        }
        for st in self.state_agents:
            for pw in self.power_agents:
                reporters[f"{st.code}:{pw.code}"] = functools.partial(_cell, s=st.idx, q=pw.idx)
        # Collected at the end of each round, which is what mesa.batch_run reads.
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        """One round: this round's noise from the replicate's stream, then the kernel."""
        p = self.params
        z = self.noise.standard_normal((len(p.powers), NOISE_CHANNELS, len(p.states)))
        self.state = kernel.advance(p, self.state, self.steps, kernel.shocks(p, z))
        self._record()
        self.datacollector.collect(self)
        self.running = self.steps < self.rounds

    def _record(self) -> None:
        r = len(self.history)
        self.history.append(
            (self.state.alignment, kernel.debt(self.params, self.state, r), self.state.delivered)
        )

    def trajectories(self) -> dict[str, np.ndarray]:
        """Recorded arrays ``(round, state, power)``: alignment, debt and delivered money."""
        return {
            "alignment": np.stack([h[0] for h in self.history]),
            "debt": np.stack([h[1] for h in self.history]),
            "delivered": np.stack([h[2] for h in self.history]),
        }


def _share(model: AlignmentModel, i: int) -> float:
    return float(rules.regional_share(model.state.alignment, model.params.region_w)[i])


def _cell(model: AlignmentModel, s: int, q: int) -> float:
    return float(model.state.alignment[s, q])


def run_replicates(p: Params, reps: np.ndarray, seed: int) -> Trajectories:
    """Replicates ``reps`` one by one through the Mesa model (the agent-by-agent path)."""
    runs = []
    for k in reps.tolist():
        model = AlignmentModel(params=p, replicate=k, seed=seed)
        model.run_model()
        runs.append(model.trajectories())
    return Trajectories(
        np.asarray(reps),
        *(np.stack([r[key] for r in runs]) for key in ("alignment", "debt", "delivered")),
    )
