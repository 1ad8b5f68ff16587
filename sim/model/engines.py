"""The two ways to simulate a scenario's replicates, and the one place that chooses between them.

``ensemble`` runs many replicates at once through :mod:`sim.model.engine`; ``mesa`` runs them one by
one through the Mesa model (:mod:`sim.model.abm`), agent by agent. Both play the same round
(:mod:`sim.model.kernel`) on the same random streams, so they give the same numbers; the Mesa path
is the reference, the ensemble the fast one. Everything that depends on the choice is here:
the chunk of replicates simulated (and saved) at once, whether trajectories are kept, and the
call that simulates a chunk. This module imports neither path until it is asked to run one.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Protocol

from sim.core.errors import SettingError

if TYPE_CHECKING:
    import numpy as np

    from sim.model.engine import Trajectories
    from sim.model.params import Params


class Engine(enum.StrEnum):
    """How replicates are simulated."""

    ENSEMBLE = "ensemble"
    MESA = "mesa"


#: Replicates simulated at once: the unit of work a run saves (:mod:`sim.runs.checkpoint`).
CHUNK: dict[str, int] = {Engine.ENSEMBLE: 2048, Engine.MESA: 100}
#: Above this many replicates the ensemble keeps streaming summaries, not full trajectories.
AUTO_TRAJECTORY_LIMIT = 20_000


def keeps_trajectories(engine: Engine, replicates: int, asked: bool | None) -> bool:
    """Whether a run keeps every replicate's path: always on the Mesa path (it records them
    anyway); on the ensemble as asked, by default up to :data:`AUTO_TRAJECTORY_LIMIT`."""
    if engine is Engine.MESA:
        return True
    return replicates <= AUTO_TRAJECTORY_LIMIT if asked is None else asked


def simulate(engine: Engine, p: Params, replicates: np.ndarray, seed: int) -> Trajectories:
    """Trajectories of the given replicates (indices) of a scenario, on the chosen path."""
    if engine is Engine.MESA:
        from sim.model import abm as model

        return model.run_replicates(p, replicates, seed)
    from sim.model import engine as ensemble

    return ensemble.simulate(p, replicates, seed)


def check_counts(replicates: int | None, seed: int | None, rounds: int | None) -> None:
    """Refuse a replicate count below 1, a negative seed or a round count below 1."""
    if replicates is not None and replicates < 1:
        raise SettingError("replicates", f"expected at least 1, found {replicates}")
    if seed is not None and seed < 0:
        raise SettingError("seed", f"expected a non-negative integer, found {seed}")
    if rounds is not None and rounds < 1:
        raise SettingError("rounds", f"expected a positive number of rounds, found {rounds}")


class Progress(Protocol):
    """What a long library call tells a front end: what it starts, and work done since."""

    def start(self, what: str, total: int) -> None:
        """``what`` starts (a line for the user); ``total`` units of work to do."""

    def advance(self, done: int) -> None:
        """``done`` more units of work are finished."""
