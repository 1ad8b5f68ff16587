"""A calibration's posterior folder, read and checked, and its draws applied to a scenario.

A posterior folder (``sim calibrate``'s output, or the shipped ``scenarios/posteriors/``) holds
``manifest.json`` (what produced it: the calibrated quantities and their priors, the link, the
seed and replicates of its likelihood, the actors' codes) and ``draws.parquet`` (one row per
draw, one column per quantity on its natural scale). :func:`load` refuses, in one line naming
the folder and the problem, a folder that is missing, truncated, or holds draws outside their
prior's support; :func:`check_scenario` refuses a scenario it was not made for (other actors,
or a calibrated quantity no field of the scenario uses).

The quantities are registry ids: applied to a scenario, a draw's value replaces every field
that refers to the id (scaled as the field scales it), so a posterior fitted on the history of
1992-2012 moves the same behavioural constants in the 2025 scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.calibration import observe, priors
from sim.core import shipped
from sim.core.errors import SettingError, SimError
from sim.outputs.outcomes import NOISE_AND_PARAMETERS
from sim.runs.draws import draw_seeds as draw_seeds
from sim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[2]
#: The posterior shipped with the project, calibrated on the UN votes of 1992-2012.
SHIPPED = shipped.SCENARIOS / "posteriors" / "central_asia"
LINK_QUANTITIES = priors.OBSERVATION
#: What an interval over a posterior covers (the label every table and figure shows; the one
#: place that says so is :func:`sim.outputs.outcomes.interval`).
COVERS = NOISE_AND_PARAMETERS


@dataclass(frozen=True)
class Posterior:
    """Draws of the calibrated quantities, with what produced them."""

    folder: Path
    manifest: dict[str, Any]
    draws: pd.DataFrame
    prior: priors.Prior

    @property
    def quantities(self) -> list[str]:
        """Every calibrated quantity, in the folder's order."""
        return self.prior.names

    @property
    def carried(self) -> list[str]:
        """Constants drawn from their priors, not fitted: no field of the history uses them."""
        return [str(q) for q in self.manifest.get("carried", [])]

    @property
    def model_quantities(self) -> list[str]:
        """The calibrated quantities that are scenario values (registry ids)."""
        return [q for q in self.quantities if q not in LINK_QUANTITIES and q not in self.carried]

    def applied(self, sc: Scenario) -> list[str]:
        """What a draw sets in a scenario: every calibrated constant, and each carried one
        that some field of the scenario uses."""
        from sim.scenario.schema import values

        used = {v.ref for _, v in values(sc) if v.ref is not None}
        return [*self.model_quantities, *(q for q in self.carried if q in used)]

    @property
    def link(self) -> observe.Link:
        """The observation link the posterior was fitted with."""
        lk = self.manifest["link"]
        return observe.Link(lk["covariate"], lk["offsets"], float(lk["delta_sd"]),
                            float(lk["gamma_mean"]), float(lk["gamma_sd"]))

    @property
    def seed(self) -> int:
        return int(self.manifest["settings"]["seed"])

    @property
    def replicates(self) -> int:
        """Replicates per draw of the calibration's likelihood (common random numbers)."""
        return int(self.manifest["settings"]["replicates"])

    def values(self, names: list[str] | None = None) -> np.ndarray:
        """``(draws, len(names))`` natural-scale values (default: the model quantities)."""
        out: np.ndarray = self.draws[names or self.model_quantities].to_numpy(dtype=float)
        return out

    def thin(self, n: int) -> Posterior:
        """``n`` draws spread evenly over the posterior (all of them if it has fewer)."""
        if n >= len(self.draws):
            return self
        idx = np.linspace(0, len(self.draws) - 1, n).round().astype(int)
        return replace(self, draws=self.draws.iloc[idx].reset_index(drop=True))

    def plain(self) -> str:
        """One plain line for a reader: how many draws of how many constants, fitted to what
        (``the shipped posterior: 200 draws of 16 behavioural constants fitted to the UN votes
        of 1992-2012, and 8 carried from their priors``); the constants' names are in the
        manifest and the report."""
        years = self.manifest.get("training_years", ["?", "?"])
        n = len(self.model_quantities)
        where = ("the shipped posterior" if self.folder.resolve() == SHIPPED.resolve()
                 else f"the posterior in {self.folder}")
        c = len(self.carried)
        carried = f", and {c} carried from their priors" if c else ""
        return (f"{where}: {len(self.draws)} draws of {n} behavioural constant"
                f"{'s' if n != 1 else ''} fitted to the UN votes of {years[0]}-{years[1]}"
                f"{carried}")

    def describe(self) -> str:
        """One line: where it comes from and what it calibrates."""
        years = self.manifest.get("training_years", ["?", "?"])
        carried = (f", with {', '.join(self.carried)} drawn from their priors" if self.carried
                   else "")
        return (f"{len(self.draws)} draws of {', '.join(self.model_quantities)} calibrated on "
                f"{years[0]}-{years[1]}{carried} ({self.folder})")


def _fail(folder: Path, what: str) -> SimError:
    return SimError(f"{folder}: posterior: {what}")


def posterior_last_year(folder: Path | str) -> int | None:
    """The last training year of a posterior folder (None if it does not say); a bad folder
    is reported when it is loaded."""
    try:
        years = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))[
            "training_years"]
        return int(years[1])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def load(folder: Path | str) -> Posterior:
    """Read and check a posterior folder (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise _fail(folder, "expected a posterior folder (written by sim calibrate), found none")
    mpath, dpath = folder / "manifest.json", folder / "draws.parquet"
    if not mpath.is_file():
        raise _fail(folder, "expected manifest.json, found none (an unfinished calibration?)")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _fail(folder, f"manifest.json is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != "calibration":
        raise _fail(folder, "expected the manifest of a calibration (kind: calibration)")
    for key in ("prior", "link", "settings", "draws", "scenario_structure"):
        if key not in manifest:
            raise _fail(folder, f"manifest.json: missing '{key}'")
    try:
        dims = tuple(priors.Dimension(**d) for d in manifest["prior"])
    except TypeError as err:
        raise _fail(folder, f"manifest.json: prior: {err}") from None
    if not dpath.is_file():
        raise _fail(folder, "expected draws.parquet, found none")
    try:
        draws = pd.read_parquet(dpath)
    except Exception as err:  # pyarrow raises several kinds for a damaged file
        raise _fail(folder, f"draws.parquet cannot be read ({type(err).__name__}: truncated or "
                    "damaged?)") from None
    names = [d.name for d in dims]
    missing = [n for n in names if n not in draws.columns]
    if missing:
        raise _fail(folder, f"draws.parquet: expected a column '{missing[0]}', found "
                    f"{', '.join(map(str, draws.columns))}")
    if len(draws) != int(manifest["draws"]):
        raise _fail(folder, f"draws.parquet: expected {manifest['draws']} draws, found "
                    f"{len(draws)} (truncated?)")
    for d in dims:
        col = draws[d.name].to_numpy(dtype=float)
        bad = [i for i, v in enumerate(col) if not d.contains(float(v))]
        if bad:
            raise _fail(folder, f"draws.parquet: draw {bad[0]}: {d.name} = {col[bad[0]]:g} is "
                        f"outside its prior's support ({priors.describe(d)})")
    return Posterior(folder, manifest, draws, priors.Prior(dims))


def check_scenario(post: Posterior, sc: Scenario, where: Path | str) -> None:
    """Refuse a scenario the posterior was not made for (one line, naming both).

    Its states and powers must be those the posterior was calibrated with, and every
    calibrated quantity must be a registry id some field of the scenario uses.
    """
    from sim.scenario.schema import values

    want = post.manifest["scenario_structure"]
    have = {"states": sorted(sc.states), "powers": sorted(sc.powers)}
    if have != want:
        raise SimError(
            f"{where}: posterior {post.folder} was made for states {want['states']} and powers "
            f"{want['powers']}; this scenario has {have['states']} and {have['powers']}"
        )
    used = {v.ref for _, v in values(sc) if v.ref is not None}
    unused = [q for q in post.model_quantities if q not in used]
    if unused:
        raise SimError(
            f"{where}: posterior {post.folder} calibrates '{unused[0]}', which no field of this "
            "scenario uses; expected a scenario of the structure it was made for"
        )


# --------------------------------------------------------------------------- running over draws

#: Posterior draws an answer runs by default (spread evenly over the posterior).
DRAWS = 200
#: Replicates per draw by default.
REPLICATES_PER_DRAW = 10


def ensemble(
    post: Posterior,
    sc: Scenario,
    where: Path | str,
    replicates: int,
    root: int,
    keep: tuple[str, ...] = ("alignment", "debt", "delivered"),
    first: int = 0,
) -> tuple[Any, np.ndarray]:
    """Every draw's block of ``replicates`` replicates of a scenario, as one ensemble.

    ``post`` may be a slice of a posterior's draws whose first is draw ``first`` of it (each
    draw keeps its own seed, so slices run one after another give the whole ensemble).

    Draw ``d`` sets every field that refers to a calibrated quantity to its value (scaled as
    the field scales it) and runs replicates ``0 .. replicates - 1`` of its own seed
    (:func:`draw_seeds`); the result is :class:`sim.model.engine.Trajectories` over ``draws x
    replicates`` (draw-major), and the draw of each.
    """
    from sim.calibration.calibrate import bind
    from sim.model import engine
    from sim.runs.batch import simulate_batch

    check_scenario(post, sc, where)
    names = post.applied(sc)
    cols, patch = bind(sc, names, Path(where))
    x = post.values(names)
    values = np.stack([x[:, names.index(c.quantity)] * c.scale for c in cols], axis=1)

    def trajectories(block: Any) -> np.ndarray:
        return np.stack([getattr(block, k) for k in keep], axis=-1)

    out = simulate_batch(patch, values, replicates, draw_seeds(root, first + len(x))[first:],
                         reduce=trajectories, keep=keep)
    flat = out.reshape(len(x) * replicates, *out.shape[2:])
    arrays = {k: flat[..., i] for i, k in enumerate(keep)}
    empty = np.zeros_like(arrays["alignment"])
    traj = engine.Trajectories(
        np.arange(len(flat)), arrays["alignment"], arrays.get("debt", empty),
        arrays.get("delivered", empty),
    )
    return traj, np.repeat(np.arange(first, first + len(x)), replicates)


def default_for(sc: Scenario, where: Path | str) -> Path | None:
    """The shipped posterior, if it was made for this scenario's structure (else None)."""
    if not (SHIPPED / "manifest.json").is_file():
        return None
    try:
        check_scenario(load(SHIPPED), sc, where)
    except SimError:
        return None
    return SHIPPED


def choose(given: Path | str | None, without: bool,
           scenarios: Sequence[tuple[Scenario, Path | str]]) -> Path | None:
    """The posterior an answer runs over: the one ``given``; none ``without``; by default the
    shipped one where it was made for every scenario (``(scenario, where)`` pairs), else none.

    The command line and the Python interface choose alike, so they give the same numbers.

    Raises:
        SettingError: a posterior given and refused at once.
    """
    if given is not None and without:
        raise SettingError("posterior", "not with", others=("without_posterior",))
    if given is not None or without:
        return None if given is None else Path(given)
    found = [default_for(sc, where) for sc, where in scenarios]
    if found and all(f is not None for f in found):
        return found[0]
    return None
