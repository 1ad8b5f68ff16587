"""An answer in a unit someone can check: predicted UN agreement of each state with a power.

A comparison over a posterior fitted with the vote mixture (:mod:`sim.calibration.mixture`) turns
each
replicate's alignment at the answer's date into the share of UN General Assembly votes on
which the state and the power would agree, with the draw's own link:

    A[s] = (1 - o) * sum_q a[s, q] * M[q, p] + o * W[p]

``M`` and ``W`` (the powers' agreement with each other, and the world's median agreement
with the power) are those of the last year the shipped tables hold (2019), held constant: the
agenda of a later year is unknown. A level also carries what an observer would see around
it: the pair's own offset from the model (its stationary spread, ``omega / sqrt(1 - rho^2)``)
and the vote count's noise (``noise^2 / (n A (1 - A))`` for the roll calls of a typical
training year). The change (with the offer minus without it) is that of the expected
agreement, paired within each replicate: the offset and the vote noise are the same in both
worlds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration import datasets, mixture
from sim.calibration.observe import expit, logit
from sim.calibration.posterior import Posterior
from sim.model.params import Params
from sim.outputs.outcomes import INTERVAL, Paired

#: Roll calls behind a year's agreement: the median over the shipped training table's last
#: five years (about 80), for the vote count's noise around a level.
TYPICAL_YEARS = 5


@dataclass(frozen=True)
class Basis:
    """What a prediction of agreement rests on: the tables' last year and its roll calls."""

    year: int
    mutual: np.ndarray  # (P, P)
    world: np.ndarray  # (P,)
    votes: float


def basis(powers: list[str]) -> Basis:
    """The shipped tables' last year, in ``powers``' order, and a typical year's votes."""
    pw = datasets.load_powers()
    world = datasets.load_world()
    year = int(min(pw["year"].max(), world["year"].max()))
    M = mixture.powers_matrix(pw, [year], powers, source=str(datasets.POWERS))[0]
    w = world[world.year == year].set_index("power")["median_agree"]
    agree = datasets.load_agreement()
    recent = agree[agree.year > int(agree.year.max()) - TYPICAL_YEARS]
    return Basis(year, M, np.array([float(w[p]) for p in powers]),
                 float(np.median(recent.n_votes)))


def predicted(post: Posterior, pr: Paired, a: Params, power: str, seed: int) -> dict[str, Any]:
    """Each state's predicted agreement with ``power`` without (A) and with (B) the offer, and
    the paired change, in points of agreement (median, 90% interval, mean); plain data.

    ``pr``'s replicates are draw-major: ``len(post.draws)`` blocks of equal size."""
    b = basis(list(a.powers))
    j = list(a.powers).index(power)
    per = len(pr.final_a) // len(post.draws)
    th = mixture.theta_of(post.draws)
    own = np.repeat(th.own, per)[:, None]
    rho = np.repeat(th.rho, per)[:, None]
    omega = np.repeat(th.omega, per)[:, None]
    noise = np.repeat(th.noise, per)[:, None]
    follow_a = pr.final_a @ b.mutual[:, j]  # (N, S)
    follow_b = pr.final_b @ b.mutual[:, j]
    m_a = (1 - own) * follow_a + own * b.world[j]
    m_b = (1 - own) * follow_b + own * b.world[j]
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(7,))))
    z = gen.standard_normal(m_a.shape)  # one offset and vote noise per replicate, both worlds

    def observed(m: np.ndarray) -> np.ndarray:
        m = np.clip(m, 1e-4, 1 - 1e-4)
        sd = np.sqrt(omega**2 / np.maximum(1 - rho**2, 1e-6)
                     + noise**2 / (b.votes * m * (1 - m)))
        out: np.ndarray = expit(logit(m) + sd * z)
        return out

    lo, hi = INTERVAL

    def stats(x: np.ndarray) -> dict[str, float]:
        q = np.quantile(x, [lo, 0.5, hi])
        return {"p5": 100 * float(q[0]), "p50": 100 * float(q[1]), "p95": 100 * float(q[2]),
                "mean": 100 * float(np.mean(x))}

    la, lb = observed(m_a), observed(m_b)
    states = [{"code": s, "a": stats(la[:, i]), "b": stats(lb[:, i]),
               "change": stats(m_b[:, i] - m_a[:, i])} for i, s in enumerate(a.states)]
    return {"power": power, "year_of_agenda": b.year, "typical_votes": b.votes,
            "units": "points of agreement (percent of UN General Assembly votes on which the "
                     "state and the power vote alike)",
            "states": states}


def table(pred: dict[str, Any]) -> pd.DataFrame:
    """``state, power, without_*, with_*, change_*`` (p5, p50, p95, mean; points)."""
    rows = []
    for st in pred["states"]:
        row: dict[str, Any] = {"state": st["code"], "power": pred["power"]}
        for key, name in (("a", "without"), ("b", "with"), ("change", "change")):
            for k in ("p50", "p5", "p95", "mean"):
                row[f"{name}_{k}_points"] = st[key][k]
        rows.append(row)
    return pd.DataFrame(rows)
