"""``sim calibrate``: a posterior over the behavioural constants from the training years' votes.

The likelihood (docs/ODD.md, section 8): for a parameter set, the history scenario runs
``replicates`` replicates on common random numbers (the same streams for every set, so the
likelihood is a smooth, deterministic function of the parameters); its alignment, averaged
over each year's rounds and over the replicates, meets the observation model; the link's
offsets and slope are integrated out exactly (flat priors) and its yearly deviation ``sigma``
is calibrated with the rest (:func:`sim.calibration.observe.marginal_loglik`). A Morris screen
of the profile likelihood over every candidate quantity picks the ``select`` the data inform most;
the others stay at their registry values. The posterior is sampled by sequential Monte Carlo
with likelihood tempering (:mod:`sim.calibration.smc`).

A calibration works in ``<out>/<scenario>/calibrations/.partial-<id>/`` and saves each
finished stage there; Ctrl-C keeps them, ``--resume`` continues from the last (with the same
result as a run that never stopped), and the folder is renamed to ``<id>`` only when the
posterior is complete.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.calibration import datasets, mixture, observe, priors, smc
from sim.core import shipped
from sim.core.errors import SimError
from sim.model.engines import Progress
from sim.model.params import Params, build
from sim.model.rng import named_stream
from sim.outputs import results
from sim.runs.batch import Patch, simulate_batch
from sim.runs.execute import (
    Batch,
    Columns,
    check_executor,
    default_workers,
    execute,
    make_batches,
    submit,
    worker_pool,
)
from sim.scenario.facts import load_registry
from sim.scenario.schema import Scenario, load, registry_folder, values

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PRIORS = shipped.SCENARIOS / "priors" / "central_asia.yaml"
SIGMA = "observation.sigma"
TAU = "observation.tau"
#: The link's own quantities (sigma and tau of a covariate link; the mixture's five).
LINK_QUANTITIES = priors.OBSERVATION
PARTIAL = ".partial-"
SPEC = "calibration.json"
#: Morris trajectories of the screen.
SCREEN_TRAJECTORIES = 10
#: Morris trajectories of the flagship screen (cheap: a few seconds for 40).
FLAGSHIP_TRAJECTORIES = 40
FLAGSHIP_SCREEN = "flagship_screen.csv"


@dataclass(frozen=True)
class CalibrateRequest:
    """What a calibration runs (``None``: the priors file's value or the default)."""

    priors: Path = DEFAULT_PRIORS
    until: int | None = None
    draws: int = 2000
    replicates: int = 16
    seed: int | None = None
    select: tuple[str, ...] = ()
    moves: int = 5
    target_ess: float = 0.5
    out: Path = Path("results")
    resume: Path | None = None
    workers: int | None = None
    scheduler: str | None = None


# --------------------------------------------------------------------------- the problem


@dataclass(frozen=True)
class Column:
    """Scenario fields one calibrated quantity moves, all with one scale (``field = x * scale``)."""

    quantity: str
    scale: float
    paths: tuple[str, ...]


def columns_of(sc: Scenario, quantities: Sequence[str], *, every: bool = True) -> list[Column]:
    """For each quantity (a registry id), the fields that refer to it, grouped by their scale.

    Raises:
        SimError: a quantity that no field of the scenario uses (unless not ``every``).
    """
    found: dict[tuple[str, float], list[str]] = {}
    for path, v in values(sc):
        if v.ref is not None and v.ref in quantities:
            found.setdefault((v.ref, v.scale), []).append(path)
    for q in quantities if every else ():
        if not any(k[0] == q for k in found):
            raise SimError(f"{sc.name}: no field uses '{q}'; expected a quantity of the scenario")
    return [Column(q, s, tuple(p)) for (q, s), p in found.items()]


def bind(sc: Scenario, quantities: Sequence[str], where: Path) -> tuple[list[Column], Patch]:
    """The fields each quantity moves, and a batch patch over them (one column per scale)."""
    cols = columns_of(sc, quantities)
    patch = Patch.bind(sc, {f"{c.quantity}*{c.scale:g}": c.paths for c in cols}, where=str(where),
                       registry=load_registry(registry_folder(Path(where))))
    return cols, patch


def covariates(
    patch: Patch,
    cols: Sequence[Column],
    names: Sequence[str],
    x: np.ndarray,
    *,
    replicates: int,
    seed: int,
    dates: Sequence[date],
    years: Sequence[int],
    covariate: str,
    bloc: np.ndarray,
) -> np.ndarray:
    """The observation link's covariate ``(n, Y, S, P)`` at parameter sets ``x`` ``(n, len(
    names))`` (natural scale): the yearly alignment averaged over replicates ``0 ..
    replicates - 1`` of ``seed`` (common random numbers: the same streams for every set), in
    batches (:func:`sim.runs.batch.simulate_batch`)."""
    values = np.stack([x[:, list(names).index(c.quantity)] * c.scale for c in cols], axis=1)
    yearly = simulate_batch(
        patch,
        values,
        replicates,
        np.full(len(x), seed, dtype=np.int64),
        reduce=lambda block: observe.yearly(block.alignment, dates, years),
        summarise=lambda q: q.mean(axis=0),
    )
    out: np.ndarray = observe.covariate(yearly, covariate, bloc)
    return out


def moments(
    patch: Patch,
    cols: Sequence[Column],
    names: Sequence[str],
    x: np.ndarray,
    *,
    replicates: int,
    seed: int,
    dates: Sequence[date],
    years: Sequence[int],
    mutual: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the vote mixture needs of parameter sets ``x`` (as :func:`covariates`): the yearly
    alignment averaged over replicates, and the mean and variance over replicates of
    :func:`sim.calibration.mixture.follow` with the powers' agreement ``mutual``; each
    ``(n, Y, S, P)``."""
    values = np.stack([x[:, list(names).index(c.quantity)] * c.scale for c in cols], axis=1)

    def summarise(q: np.ndarray) -> np.ndarray:
        f = mixture.follow(q, mutual)
        return np.concatenate([q.mean(axis=0), f.mean(axis=0), f.var(axis=0)], axis=-1)

    out = simulate_batch(
        patch, values, replicates, np.full(len(x), seed, dtype=np.int64),
        reduce=lambda block: observe.yearly(block.alignment, dates, years),
        summarise=summarise,
    )
    P = mutual.shape[-1]
    return out[..., :P], out[..., P : 2 * P], out[..., 2 * P :]


@dataclass
class Problem:
    """The history scenario, its observations and the quantities being calibrated.

    ``model`` quantities move scenario fields; ``observation.sigma`` is the link's own. The
    likelihood of a parameter set is :meth:`loglik`.
    """

    scenario: Scenario
    params: Params
    obs: observe.Observed
    years: list[int]
    link: observe.Link
    bloc: np.ndarray
    prior: priors.Prior
    replicates: int
    seed: int
    columns: list[Column] = field(default_factory=list)
    patch: Patch | None = None
    data: dict[str, Path] = field(default_factory=dict)
    #: constants no field of the history uses, drawn from their priors into the posterior
    carried: priors.Prior = field(default_factory=lambda: priors.Prior(()))
    #: the powers' agreement ``(Y, P, P)`` and the world's ``(Y, P)`` (the vote mixture's)
    M: np.ndarray | None = None
    W: np.ndarray | None = None

    @property
    def model_quantities(self) -> list[str]:
        return [n for n in self.prior.names if n not in LINK_QUANTITIES]

    def covariates(self, x: np.ndarray) -> np.ndarray:
        """The link's covariate ``(n, Y, S, P)`` of parameter sets ``x`` ``(n, D_model)``
        (natural scale): :func:`covariates` on this problem's scenario and seed."""
        assert self.patch is not None  # bound by problem()
        return covariates(self.patch, self.columns, self.model_quantities, x,
                          replicates=self.replicates, seed=self.seed, dates=self.params.dates,
                          years=self.years, covariate=self.link.covariate, bloc=self.bloc)

    def split(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Natural-scale model values ``(n, D_model)``, ``sigma`` and ``tau`` ``(n,)`` of
        particles ``u`` (``tau`` is 1, unused, without state offsets)."""
        nat = self.prior.to_natural(u)
        names = self.prior.names
        model = nat[:, [names.index(n) for n in self.model_quantities]]
        sigma = nat[:, names.index(SIGMA)]
        tau = nat[:, names.index(TAU)] if TAU in names else np.ones(len(u))
        return model, sigma, tau

    def moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`moments` of parameter sets ``x`` ``(n, D_model)`` on this problem."""
        assert self.patch is not None and self.M is not None
        return moments(self.patch, self.columns, self.model_quantities, x,
                       replicates=self.replicates, seed=self.seed, dates=self.params.dates,
                       years=self.years, mutual=self.M)

    def theta(self, u: np.ndarray) -> mixture.Theta:
        """The vote mixture's parameters of particles ``u``: calibrated, or their prior
        medians where the priors file leaves them out (then they are fixed)."""
        nat = self.prior.to_natural(u)
        names = self.prior.names
        vals = {}
        for n, q in zip(mixture.NAMES, mixture.QUANTITIES, strict=True):
            if q in names:
                vals[n] = nat[:, names.index(q)]
            else:
                vals[n] = np.full(len(u), mixture.FIXED[n])
        return mixture.Theta(**vals)

    def loglik(self, u: np.ndarray) -> np.ndarray:
        """Log-likelihood ``(n,)`` of particles ``u`` ``(n, D)`` (unconstrained scale)."""
        if self.link.mixture:
            model = self.prior.to_natural(u)[:, [self.prior.names.index(n)
                                                 for n in self.model_quantities]]
            _, fm, fv = self.moments(model)
            assert self.W is not None
            out_m: np.ndarray = mixture.loglik(self.obs, fm, fv, self.W, self.theta(u))
            return out_m
        model, sigma, tau = self.split(u)
        x = self.covariates(model)
        out: np.ndarray = observe.posterior(x, self.obs, self.link, sigma, tau).log_ml
        return out


def problem(
    pri: priors.Priors, prior: priors.Prior, *, until: int, replicates: int, seed: int
) -> Problem:
    """Load the history scenario and the observations of its training years."""
    sc = load(pri.scenario_path)
    p = build(sc)
    years = observe.calendar_years(p.dates)
    a_path, w_path = pri.data_path("agreement"), pri.data_path("world")
    agreement, world = datasets.load_agreement(a_path), datasets.load_world(w_path)
    last = int(agreement["year"].max())
    if until > last:
        raise SimError(f"until: the observations end in {last}, found {until}")
    if until < years[0]:
        raise SimError(f"until: expected a year from {years[0]}, found {until}")
    obs = observe.observed(agreement, world, years=years, states=p.states, powers=p.powers,
                           until=until, source=str(a_path), world_source=str(w_path))
    link = pri.link
    needed = (() if link.mixture else (SIGMA, TAU) if link.offsets == "state" else (SIGMA,))
    missing = [q for q in needed if q not in pri.prior.names]
    if missing:
        raise SimError(f"{pri.path}: quantities: expected a prior for {missing[0]} (the "
                       f"link with {link.offsets} offsets needs it)")
    pr = Problem(sc, p, obs, years, link, observe.bloc_index(p.powers, sc.blocs), prior,
                 replicates, seed)
    pr.columns, pr.patch = bind(sc, pr.model_quantities, pri.scenario_path)
    pr.data = {"agreement": a_path, "world": w_path}
    pr.carried = pri.carried
    if link.mixture:
        pw_path = pri.data_path("powers")
        pr.M = mixture.powers_matrix(datasets.load_powers(pw_path), years, p.powers,
                                     source=str(pw_path))
        pr.W = mixture.world_share(obs)
        pr.data["powers"] = pw_path
    return pr


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class LikelihoodTask:
    """The log-likelihood of a batch of particles, as a sweep task (for local workers or a
    Dask cluster): the problem is built once per worker from the priors file."""

    priors_file: str
    names: tuple[str, ...]
    until: int
    replicates: int
    seed: int

    @functools.cached_property
    def problem(self) -> Problem:
        pri = priors.load(Path(self.priors_file))
        return problem(pri, pri.prior.subset(list(self.names)), until=self.until,
                       replicates=self.replicates, seed=self.seed)

    @property
    def work(self) -> int:
        return self.replicates * self.problem.params.rounds

    def __call__(self, batch: Batch) -> Columns:
        return {"point": np.asarray(batch.points, dtype=np.int64),
                "loglik": self.problem.loglik(np.asarray(batch.values, dtype=float))}


class Evaluator:
    """Evaluates a :class:`LikelihoodTask` on arrays of particles: in this process, on local
    worker processes kept for the whole calibration, or on a Dask cluster. The numbers do not
    depend on which: every particle's likelihood is a function of its values alone."""

    def __init__(self, task: LikelihoodTask, workers: int, scheduler: str | None) -> None:
        self.task, self.workers, self.scheduler = task, workers, scheduler
        self._stack = contextlib.ExitStack()
        self._pool: Any = None

    def __enter__(self) -> Evaluator:
        if self.scheduler is None and self.workers > 1:
            self._pool = self._stack.enter_context(worker_pool(self.task, self.workers))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def __call__(self, u: np.ndarray) -> np.ndarray:
        n = len(u)
        slots = 1 if self._pool is None and self.scheduler is None else max(self.workers, 2)
        batches = make_batches(np.arange(n), u, np.zeros(n, dtype=np.uint64), slots,
                               self.task.work)
        out = np.empty(n)

        def keep(cols: Columns) -> None:
            out[cols["point"]] = cols["loglik"]

        if self.scheduler is not None:
            execute(self.task, np.arange(n), u, np.zeros(n, dtype=np.uint64),
                    scheduler=self.scheduler, on_done=keep)
        elif self._pool is not None:
            for fut in [submit(self._pool, b) for b in batches]:
                keep(fut.result())
        else:
            for b in batches:
                keep(self.task(b))
        return out


# --------------------------------------------------------------------------- the screen


def screen(pr: Problem, seed: int, trajectories: int = SCREEN_TRAJECTORIES) -> pd.DataFrame:
    """Morris elementary effects of the marginal log-likelihood over the model quantities.

    Each quantity moves over the central 90% of its prior (on its unconstrained scale); the
    link's coefficients are integrated out, its variances held at their prior medians. Returns
    one row per quantity: ``mu_star``, ``sigma`` (of the elementary effects, in log-likelihood
    units), ranked.
    """
    from SALib.analyze import morris as morris_analyze

    names = pr.model_quantities
    dims = [pr.prior.subset([n]).dims[0] for n in names]
    problem_def, u, nat, gen_seed = _morris_design(dims, seed, trajectories, "screen")
    medians = {d.name: d.median for d in pr.prior.dims}
    if pr.link.mixture:
        _, fm, fv = pr.moments(nat)
        th = mixture.Theta(**{n: np.asarray(medians.get(q, mixture.FIXED[n])) for n, q in
                              zip(mixture.NAMES, mixture.QUANTITIES, strict=True)})
        assert pr.W is not None
        y = np.asarray(mixture.loglik(pr.obs, fm, fv, pr.W, th), dtype=float)
    else:
        x = pr.covariates(nat)
        fit = observe.posterior(x, pr.obs, pr.link, medians[SIGMA], medians.get(TAU, 1.0))
        y = np.asarray(fit.log_ml, dtype=float)
    res = morris_analyze.analyze(problem_def, u, y, num_levels=4, seed=gen_seed)
    table = pd.DataFrame({"quantity": names, "mu_star": res["mu_star"], "sigma": res["sigma"],
                          "mu_star_conf": res["mu_star_conf"]})
    return table.sort_values("mu_star", ascending=False, ignore_index=True)


def _morris_design(dims: Sequence[priors.Dimension], seed: int, trajectories: int,
                   label: str) -> tuple[dict[str, Any], np.ndarray, np.ndarray, int]:
    """A Morris design over the central 90% of each prior (unconstrained scale): the SALib
    problem, the points ``u`` and their natural values, and the generator's seed."""
    from SALib.sample import morris as morris_sample

    bounds = []
    for d in dims:
        if d.distribution in ("lognormal", "logitnormal"):
            bounds.append([d.loc - priors.Z90 * d.scale, d.loc + priors.Z90 * d.scale])
        else:
            bounds.append([float(np.log(0.05 / 0.95)), float(np.log(0.95 / 0.05))])
    problem_def = {"num_vars": len(dims), "names": [d.name for d in dims], "bounds": bounds}
    gen_seed = int(named_stream(seed, label).integers(1, 2**31 - 1))
    u = morris_sample.sample(problem_def, trajectories, num_levels=4, seed=gen_seed)
    nat = np.stack([d.to_natural(u[:, j]) for j, d in enumerate(dims)], axis=1)
    return problem_def, u, nat, gen_seed


def flagship_effect(
    a: Scenario, b: Scenario, where: Path, names: Sequence[str], x: np.ndarray, *,
    power: str, when: date, replicates: int, seed: int,
) -> np.ndarray:
    """The paired effect ``(n,)`` of scenario ``a`` against ``b`` on ``power``'s regional share
    at ``when`` (percentage points, mean over ``replicates`` common random numbers), with the
    quantities ``names`` set to ``x`` ``(n, len(names))`` wherever each scenario uses them."""
    from sim.model import rules
    from sim.outputs.outcomes import round_at

    registry = load_registry(registry_folder(where))
    shares = []
    for sc in (a, b):
        cols = columns_of(sc, names, every=False)
        patch = Patch.bind(sc, {f"{c.quantity}*{c.scale:g}": c.paths for c in cols},
                           where=str(where), registry=registry)
        values = (np.stack([x[:, list(names).index(c.quantity)] * c.scale for c in cols],
                           axis=1) if cols else np.zeros((len(x), 0)))
        p = build(sc)
        r, j = round_at(when, p.dates), p.powers.index(power)

        def reduce(block: Any, r: int = r, j: int = j) -> np.ndarray:
            out: np.ndarray = rules.regional_share(block.alignment[:, :, r],
                                                   block.params.region_w)[..., j]
            return out

        shares.append(simulate_batch(patch, values, replicates,
                                     np.full(len(x), seed, dtype=np.int64), reduce=reduce,
                                     summarise=lambda q: q.mean(axis=0)))
    out: np.ndarray = 100.0 * (shares[0] - shares[1])
    return out


def flagship_screen(pri: priors.Priors, dims: Sequence[priors.Dimension], in_history: set[str],
                    seed: int, trajectories: int = FLAGSHIP_TRAJECTORIES) -> pd.DataFrame:
    """Morris elementary effects of the flagship answer (the priors file's ``flagship``) over
    every candidate's prior: ``quantity, mu_star_pp, sigma_pp, in_history, moves_answer``,
    ranked. ``moves_answer``: ``mu_star`` reaches the file's threshold."""
    from SALib.analyze import morris as morris_analyze

    f = pri.spec.flagship
    assert f is not None
    problem_def, u, nat, gen_seed = _morris_design(dims, seed, trajectories, "flagship-screen")
    where = (pri.path.parent / f.scenario).resolve()
    a, b = load(where), load((pri.path.parent / f.counterfactual).resolve())
    y = flagship_effect(a, b, where, [d.name for d in dims], nat, power=f.power,
                        when=date.fromisoformat(f.date), replicates=f.replicates, seed=seed)
    res = morris_analyze.analyze(problem_def, u, y, num_levels=4, seed=gen_seed)
    table = pd.DataFrame({"quantity": [d.name for d in dims], "mu_star_pp": res["mu_star"],
                          "sigma_pp": res["sigma"], "mu_star_conf": res["mu_star_conf"]})
    table["in_history"] = table.quantity.isin(in_history)
    table["moves_answer"] = table.mu_star_pp >= f.threshold
    return table.sort_values("mu_star_pp", ascending=False, ignore_index=True)


class Restricted:
    """The prior restricted to the constants under which the priors file's ``patterns`` hold
    (pattern-oriented modelling): density zero elsewhere, sampled by rejection. The patterns
    are checked on a scenario of the present over ``replicates`` common random numbers, with
    every quantity not calibrated at its registry value."""

    def __init__(self, pri: priors.Priors, prior: priors.Prior, seed: int) -> None:
        pat = pri.spec.patterns
        assert pat is not None
        self.prior, self.spec, self.seed = prior, pat, seed
        self.dims = prior.dims
        self.where = (pri.path.parent / pat.scenario).resolve()
        sc = load(self.where)
        self.names = [n for n in prior.names if n not in LINK_QUANTITIES]
        self.cols = columns_of(sc, self.names, every=False)
        self.patch = Patch.bind(sc, {f"{c.quantity}*{c.scale:g}": c.paths for c in self.cols},
                                where=str(self.where),
                                registry=load_registry(registry_folder(self.where)))
        self.p = build(sc)
        from sim.outputs.outcomes import answer_round

        self.at = answer_round(sc.time.answer, self.p.dates)
        self.checks = 0

    def holds(self, u: np.ndarray) -> np.ndarray:
        """``(n,)``: whether every replicate of each particle shows the patterns."""
        from sim.model import rules

        nat = self.prior.to_natural(u)
        x = nat[:, [self.prior.names.index(n) for n in self.names]]
        values = (np.stack([x[:, self.names.index(c.quantity)] * c.scale for c in self.cols],
                           axis=1) if self.cols else np.zeros((len(u), 0)))
        pat, at, p = self.spec, self.at, self.p
        order = [(p.states.index(s), [p.powers.index(q) for q in qs])
                 for s, qs in pat.order.items()]

        def reduce(block: Any) -> np.ndarray:
            a = block.alignment[:, :, : at + 1]  # (replicate, point, round, state, power)
            ok = (a.max(axis=-1) < pat.max_share).all(axis=(-1, -2))
            ok &= (rules.hedging_index(a) > pat.min_hedging).all(axis=(-1, -2))
            reg = rules.regional_share(a, block.params.region_w[None, :, None, :]
                                       if block.params.region_w.ndim == 2
                                       else block.params.region_w)
            ok &= (np.abs(reg[:, :, -1] - reg[:, :, 0]) < pat.max_drift).all(axis=-1)
            for s, qs in order:
                k = a[..., s, :]
                rest = np.delete(k, qs, axis=-1).max(axis=-1)
                chain = k[..., qs[-1]] > rest
                for hi, lo in itertools.pairwise(qs):
                    chain &= k[..., hi] > k[..., lo]
                ok &= chain.all(axis=-1)
            out: np.ndarray = ok.astype(float)
            return out

        share = simulate_batch(self.patch, values, pat.replicates,
                               np.full(len(u), self.seed, dtype=np.int64), reduce=reduce,
                               summarise=lambda q: q.min(axis=0))
        self.checks += len(u)
        out: np.ndarray = share >= 1.0
        return out

    def logpdf(self, u: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.where(self.holds(u), self.prior.logpdf(u), -np.inf)
        return out

    def sample(self, gen: np.random.Generator, n: int) -> np.ndarray:
        """``n`` prior draws that show the patterns (rejection; refused if hardly any do)."""
        kept: list[np.ndarray] = []
        have, tries = 0, 0
        while have < n:
            u = self.prior.sample(gen, n)
            ok = self.holds(u)
            kept.append(u[ok])
            have += int(ok.sum())
            tries += n
            if tries >= 50 * n and have < n:
                raise SimError(f"patterns: only {have} of {tries} prior draws reproduce them; "
                               "expected at least one in fifty (wider priors or looser "
                               "patterns)")
        self.acceptance = n / tries if tries else 1.0
        out: np.ndarray = np.concatenate(kept)[:n]
        return out


# --------------------------------------------------------------------------- stages on disk


def _save_stage(folder: Path, pop: smc.Population) -> None:
    path = folder / f"stage-{pop.stage:03d}.npz"
    tmp = folder / f".{path.name}.tmp"
    with tmp.open("wb") as fh:
        np.savez(fh, u=pop.u, loglik=pop.loglik, logprior=pop.logprior,
                 meta=np.array([pop.stage, pop.phi, pop.ess, pop.acceptance, pop.scale,
                                pop.evaluations, pop.log_evidence]))
    tmp.replace(path)


def load_stages(folder: Path) -> list[smc.Population]:
    """Every saved stage of a calibration folder, in order."""
    out = []
    for path in sorted(folder.glob("stage-*.npz")):
        with np.load(path) as z:
            m = z["meta"]
            out.append(smc.Population(int(m[0]), float(m[1]), z["u"], z["loglik"],
                                      z["logprior"], float(m[2]), float(m[3]), float(m[4]),
                                      int(m[5]), float(m[6])))
    return out


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a calibration, after the finished stages were saved."""


@dataclass(frozen=True)
class CalibrateOutcome:
    """Where a calibration wrote its posterior, and its summary table."""

    folder: Path
    summary: pd.DataFrame
    seconds: float


class _Told:
    """Tells a calibration's progress: each step by name, and how far tempering has gone."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0  # thousandths of the way from the prior (phi = 0) to the posterior (phi = 1)

    def __call__(self, what: str, phi: float | None = None) -> None:
        if self.progress is None:
            return
        self.progress.start(what, 1000)
        if phi is not None and int(phi * 1000) > self.done:
            self.progress.advance(int(phi * 1000) - self.done)
            self.done = int(phi * 1000)


def calibrate(
    req: CalibrateRequest, progress: Progress | None = None
) -> CalibrateOutcome:
    """Screen, sample and write a posterior folder (see the module docstring)."""
    t0 = time.perf_counter()
    say = _Told(progress)
    if req.resume is not None:
        req, spec = _resumed(req)
    _check(req)
    pri = priors.load(req.priors)
    until = req.until if req.until is not None else pri.spec.until
    sc0 = load(pri.scenario_path)
    seed = req.seed if req.seed is not None else sc0.seed
    full = problem(pri, pri.prior, until=until, replicates=req.replicates, seed=seed)
    if req.resume is None:
        folder, spec = _begin(req, pri, full, sc0.name, until, seed, say)
    else:
        folder = req.resume
    calibrated = list(spec["calibrated"])
    pr = problem(pri, pri.prior.subset(calibrated), until=until, replicates=req.replicates,
                 seed=seed)
    post = _sample(req, pri, pr, calibrated, until, seed, folder, say)
    final = folder.parent / str(spec["run_id"])
    summary = write_posterior(folder, pr, post, load_stages(folder), spec, t0)
    folder.rename(final)
    return CalibrateOutcome(final, summary, time.perf_counter() - t0)


def _resumed(req: CalibrateRequest) -> tuple[CalibrateRequest, dict[str, Any]]:
    """The request an interrupted calibration was started with, read from its folder's spec
    (the workers, scheduler and ``out`` of this one), and that spec."""
    assert req.resume is not None
    folder = req.resume
    spec_path = folder / SPEC
    if not spec_path.is_file():
        raise SimError(f"{folder}: --resume: expected a calibration's {SPEC}, found none")
    spec: dict[str, Any] = json.loads(spec_path.read_text(encoding="utf-8"))
    req = CalibrateRequest(
        priors=_located(spec["priors"]), until=spec["until"], draws=spec["draws"],
        replicates=spec["replicates"], seed=spec["seed"],
        select=tuple(q for q in spec["calibrated"] if q not in LINK_QUANTITIES),
        moves=spec["moves"], target_ess=spec["target_ess"], out=req.out,
        resume=req.resume, workers=req.workers, scheduler=req.scheduler,
    )
    return req, spec


def _chosen(
    req: CalibrateRequest, pri: priors.Priors, full: Problem, seed: int, say: _Told
) -> tuple[list[str], pd.DataFrame | None, pd.DataFrame | None]:
    """The model quantities to calibrate (those asked for, or those the screens find the votes
    inform and the flagship answer depends on), with the screen's and the flagship screen's
    tables where they ran."""
    if req.select:
        unknown = [n for n in req.select if n not in full.model_quantities]
        if unknown:
            raise SimError(f"select: '{unknown[0]}' is not a model quantity of "
                           f"{req.priors}; expected one of {', '.join(full.model_quantities)}")
        chosen, table = list(req.select), None
    else:
        say(f"screening {len(full.model_quantities)} quantities (Morris)")
        table = screen(full, seed)
        chosen = list(table.quantity[: pri.spec.select])
    flag = None
    if pri.spec.flagship is not None:
        say("screening them on the flagship answer (Morris)")
        in_history = set(full.model_quantities)
        cand = [*full.prior.subset(full.model_quantities).dims, *pri.carried.dims]
        flag = flagship_screen(pri, cand, in_history, seed)
        if not req.select:  # every candidate the answer depends on is fitted
            moves = flag[flag.moves_answer & flag.in_history].quantity
            chosen += [q for q in full.model_quantities if q in set(moves)
                       and q not in chosen]
    return chosen, table, flag


def _begin(
    req: CalibrateRequest, pri: priors.Priors, full: Problem, scenario: str, until: int,
    seed: int, say: _Told,
) -> tuple[Path, dict[str, Any]]:
    """A new calibration's partial folder, with the screens' tables and the spec it runs by."""
    chosen, table, flag = _chosen(req, pri, full, seed, say)
    calibrated = [*chosen, *(q for q in LINK_QUANTITIES if q in full.prior.names)]
    run_id = results.new_run_id()
    folder = req.out / scenario / "calibrations" / f"{PARTIAL}{run_id}"
    folder.mkdir(parents=True)
    if table is not None:
        table.assign(selected=table.quantity.isin(chosen)).to_csv(
            folder / "screen.csv", index=False, float_format="%.6g")
    if flag is not None:
        flag.assign(calibrated=flag.quantity.isin(chosen),
                    carried=flag.quantity.isin(pri.carried.names)).to_csv(
            folder / FLAGSHIP_SCREEN, index=False, float_format="%.6g")
    spec = {
        "run_id": run_id, "priors": _shown(req.priors), "until": until, "draws": req.draws,
        "replicates": req.replicates, "seed": seed, "moves": req.moves,
        "target_ess": req.target_ess, "calibrated": calibrated,
        "patterns": (None if pri.spec.patterns is None
                     else pri.spec.patterns.model_dump()),
        "started": results.now(), "command": results.command_line(),
    }
    results.write_json(folder / SPEC, spec)
    return folder, spec


def _sample(
    req: CalibrateRequest, pri: priors.Priors, pr: Problem, calibrated: list[str], until: int,
    seed: int, folder: Path, say: _Told,
) -> smc.Population:
    """The posterior by sequential Monte Carlo, from the folder's last saved stage, each stage
    saved as it finishes.

    Raises:
        Interrupted: Ctrl-C, once the finished stages are saved.
    """
    stages = load_stages(folder)
    last = stages[-1] if stages else None

    def saved(pop: smc.Population) -> None:
        _save_stage(folder, pop)
        say(f"stage {pop.stage}: phi {pop.phi:.4f}, ESS {pop.ess:.0f}, "
            f"acceptance {pop.acceptance:.2f}, {pop.evaluations:,} evaluations", pop.phi)

    task = LikelihoodTask(str(req.priors), tuple(calibrated), until, req.replicates, seed)
    workers = req.workers if req.workers is not None else default_workers()
    prior: Any = pr.prior
    if pri.spec.patterns is not None:
        prior = Restricted(pri, pr.prior, seed)
    try:
        with Evaluator(task, workers, req.scheduler) as evaluate:
            post = smc.run(evaluate, prior, req.draws, seed, target_ess=req.target_ess,
                           moves=req.moves, resume=last, on_stage=saved)
    except KeyboardInterrupt:
        done = len(load_stages(folder))
        raise Interrupted(f"interrupted: {done} stages are saved in {folder}; finish with "
                          f"sim calibrate --resume {folder}") from None
    return post


def _located(shown: str) -> Path:
    """The path a manifest shows: absolute, or relative to the project."""
    p = Path(shown)
    return p if p.is_absolute() or p.exists() else ROOT / p


def _shown(path: Path) -> str:
    """A path as manifests show it: relative to the project when inside it."""
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _check(req: CalibrateRequest) -> None:
    check_executor(req.workers, req.scheduler)  # a scheduler's address is reached here too
    if req.resume is None:
        results.check_out(req.out)
    else:
        results.check_out(req.resume, "resume")
    if req.draws < 50:
        raise SimError(f"draws: expected at least 50 particles, found {req.draws}")
    if req.replicates < 1:
        raise SimError(f"replicates: expected at least 1, found {req.replicates}")
    if req.moves < 1:
        raise SimError(f"moves: expected at least 1, found {req.moves}")
    if not 0 < req.target_ess < 1:
        raise SimError(f"target_ess: expected a share in (0, 1), found {req.target_ess}")


# --------------------------------------------------------------------------- the posterior


def summary_table(pr: Problem, post: smc.Population) -> pd.DataFrame:
    """Prior and posterior median and 90% interval of each calibrated quantity, and the
    contraction ``1 - var(post) / var(prior)`` on the unconstrained scale."""
    rows = []
    nat = pr.prior.to_natural(post.u)
    for j, d in enumerate(pr.prior.dims):
        lo_p, hi_p = _prior_interval(d)
        q = np.quantile(nat[:, j], [0.05, 0.5, 0.95])
        prior_var = d.scale**2 if d.distribution in ("lognormal", "logitnormal") else np.pi**2 / 3
        rows.append({
            "quantity": d.name, "prior": priors.describe(d), "prior_median": d.median,
            "prior_p5": lo_p, "prior_p95": hi_p, "post_median": q[1], "post_p5": q[0],
            "post_p95": q[2], "contraction": 1.0 - float(np.var(post.u[:, j])) / prior_var,
        })
    return pd.DataFrame(rows)


def _prior_interval(d: priors.Dimension) -> tuple[float, float]:
    if d.distribution in ("lognormal", "logitnormal"):
        half = priors.Z90 * d.scale
        lo, hi = d.to_natural(np.array([d.loc - half, d.loc + half]))
    else:
        lo, hi = d.to_natural(np.log(np.array([0.05, 0.95]) / np.array([0.95, 0.05])))
    return float(lo), float(hi)


def write_posterior(
    folder: Path, pr: Problem, post: smc.Population, stages: list[smc.Population],
    spec: dict[str, Any], t0: float,
) -> pd.DataFrame:
    """Draws, diagnostics, figures, manifest and report into the (partial) folder."""
    from sim.calibration.figures import posterior_pairs
    from sim.outputs import plots, report

    nat = pr.prior.to_natural(post.u)
    draws = _draws_table(pr, post, nat, int(spec["seed"]))
    results.write_parquet(pa.Table.from_pandas(draws, preserve_index=False),
                          folder / "draws.parquet")
    summary = summary_table(pr, post)
    if pr.carried.dims:
        summary = pd.concat([summary, _carried_rows(pr.carried, draws)], ignore_index=True)
    summary.to_csv(folder / "posterior.csv", index=False, float_format="%.6g")
    diag = pd.DataFrame([{"stage": s.stage, "phi": s.phi, "ess": s.ess,
                          "acceptance": s.acceptance, "proposal_scale": s.scale,
                          "evaluations": s.evaluations, "log_evidence": s.log_evidence}
                         for s in stages])
    diag.to_csv(folder / "stages.csv", index=False, float_format="%.6g")
    plots.save(posterior_pairs(nat, pr.prior, title=pr.scenario.title),
               folder / "plots", "posterior_pairs")
    results.write_json(folder / "manifest.json",
                       _manifest(pr, post, stages, spec, len(draws), summary, t0))
    report.write_report(folder, label=str(spec["run_id"]))
    return summary


def _draws_table(
    pr: Problem, post: smc.Population, nat: np.ndarray, seed: int
) -> pd.DataFrame:
    """``draw``, every calibrated and carried quantity, and ``loglik``: one row per particle."""
    draws = pd.DataFrame(nat, columns=pr.prior.names)
    carried = pr.carried
    if carried.dims:  # the constants the votes cannot inform: a prior draw in every row
        gen = named_stream(seed, "carried-from-prior")
        extra = carried.to_natural(carried.sample(gen, len(draws)))
        for j, name in enumerate(carried.names):
            draws[name] = extra[:, j]
    draws.insert(0, "draw", np.arange(len(draws)))
    draws["loglik"] = post.loglik
    return draws


def _carried_rows(carried: priors.Prior, draws: pd.DataFrame) -> pd.DataFrame:
    """The summary's rows of the carried quantities: their prior draws, with no contraction."""
    rows = []
    for d in carried.dims:
        lo, hi = _prior_interval(d)
        col = draws[d.name].to_numpy(dtype=float)
        q = np.quantile(col, [0.05, 0.5, 0.95])
        rows.append({"quantity": d.name, "prior": priors.describe(d) + " (carried: "
                     "no vote informs it)", "prior_median": d.median, "prior_p5": lo,
                     "prior_p95": hi, "post_median": q[1], "post_p5": q[0],
                     "post_p95": q[2], "contraction": 0.0})
    return pd.DataFrame(rows)


def _manifest(
    pr: Problem, post: smc.Population, stages: list[smc.Population], spec: dict[str, Any],
    draws: int, summary: pd.DataFrame, t0: float,
) -> dict[str, Any]:
    """A posterior folder's ``manifest.json``: what was calibrated, on which data, how, and the
    headline of each quantity."""
    carried = pr.carried
    return {
        "kind": "calibration",
        "scenario": pr.scenario.name,
        "title": f"Calibration of {pr.scenario.title}",
        "question": "What do the training years' UN votes say about the model's behavioural "
        "constants?",
        "priors": spec["priors"],
        "training_years": [pr.years[0], int(spec["until"])],
        "held_out": f"no observation after {spec['until']} was used",
        "data": {k: {"file": _shown(v), "sha256": datasets.sha256(v)}
                 for k, v in pr.data.items()},
        "scenario_structure": structure(pr.scenario),
        "calibrated": pr.prior.names,
        "carried": carried.names,
        "patterns": spec.get("patterns"),
        "prior": [priors.as_dict(d) for d in (*pr.prior.dims, *carried.dims)],
        "method": "sequential Monte Carlo, adaptive likelihood tempering, random-walk moves",
        "likelihood": ((("the vote mixture: each pair's offset a Kalman filter, the link's five "
                         "parameters calibrated with the rest") if pr.link.mixture else
                        "observation model with the link's offsets and slope integrated out")
                       + f"; {pr.replicates} replicates on common random numbers per draw"),
        "draws": draws,
        "stages": len(stages) - 1,
        "evaluations": int(post.evaluations),
        "final_ess_before_resampling": post.ess,
        "log_evidence": post.log_evidence,
        "settings": {k: spec[k] for k in ("draws", "replicates", "seed", "moves", "target_ess")},
        "link": {"covariate": pr.link.covariate, "offsets": pr.link.offsets,
                 "delta_sd": pr.link.delta_sd, "gamma_mean": pr.link.gamma_mean,
                 "gamma_sd": pr.link.gamma_sd},
        "headline": [{"label": r.quantity, "value": f"{r.post_median:.3g} "
                      f"[{r.post_p5:.3g}, {r.post_p95:.3g}]",
                      "note": f"prior {r.prior}; contraction {r.contraction:.0%}"}
                     for r in summary.itertuples()],
        "command": spec["command"],
        "versions": results.versions(),
        "started": spec["started"],
        "finished": results.now(),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def structure(sc: Scenario) -> dict[str, Any]:
    """What a posterior must match in a scenario it is applied to: the codes of its actors."""
    return {"states": sorted(sc.states), "powers": sorted(sc.powers)}


def format_summary(out: CalibrateOutcome) -> str:
    """What ``sim calibrate`` prints."""
    lines = ["posterior (median [5%, 95%]) against the prior:"]
    width = max(len(q) for q in out.summary.quantity)
    for r in out.summary.itertuples():
        lines.append(f"  {r.quantity:<{width}}  {r.post_median:8.3g} [{r.post_p5:.3g}, "
                     f"{r.post_p95:.3g}]   prior {r.prior}; contraction {r.contraction:.0%}")
    lines.append("  (contraction: how much narrower the posterior is than the prior, "
                 "1 - posterior variance / prior variance; 0% the votes say nothing of the "
                 "quantity, 100% they pin it down)")
    lines.append(f"posterior: {out.folder}  ({out.seconds:.0f} s)")
    lines.append(f"use it: sim compare A B --posterior {out.folder} (or sim run, sim hindcast, "
                 f"sim sweep with --posterior {out.folder})")
    return "\n".join(lines)
