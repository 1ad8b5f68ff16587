"""``sim hindcast``: run a history scenario and measure it against observed UN votes.

The history scenario runs as any other (the ensemble engine, one stream per replicate); its
alignment, averaged over each year's rounds, meets the observation model
(:mod:`sim.calibration.observe`):
the link parameters are fitted on the training years only (up to ``until``), and every year of
the scenario gets a predictive distribution of the share of identical votes, covering the
model's noise, the link's estimation error, its year-to-year deviation and the vote count's
sampling noise. The years after ``until`` are predicted, never fitted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.calibration import calibrate, datasets, mixture, observe, posterior, rolling
from sim.calibration.figures import agreement_bands
from sim.core import shipped
from sim.core.errors import SimError
from sim.model import engine
from sim.model.params import Params, build
from sim.model.rng import named_stream
from sim.outputs import plots, report, results
from sim.scenario.schema import Scenario, file_digest, load, parameters, to_yaml
from sim.scenario.schema import digest as scenario_digest

#: The shipped history scenario.
DEFAULT_SCENARIO = shipped.SCENARIOS / "history" / "central_asia_1992.yaml"
#: Observation-noise draws per replicate for the predictive bands.
DRAWS = 20


@dataclass(frozen=True)
class HindcastRequest:
    """What a hindcast runs: the scenario, the data and the training years."""

    scenario: Path = DEFAULT_SCENARIO
    sets: tuple[str, ...] = ()
    replicates: int | None = None
    seed: int | None = None
    until: int = 2003
    link: str = "mixture"
    offsets: str = "state"
    posterior: Path | None = None
    posterior_draws: int = 400
    agreement: Path = datasets.AGREEMENT
    world: Path = datasets.WORLD
    powers: Path = datasets.POWERS
    draws: int = DRAWS
    out: Path = Path("results")


@dataclass(frozen=True)
class Hindcast:
    """A hindcast in memory.

    Attributes:
        scenario, params: the history scenario and its arrays.
        obs: the observations on the scenario's grid of years.
        fit: the link's coefficients on the training years: at the ``sigma`` and ``tau`` that
            maximise the marginal likelihood (replicate-mean covariate), or one posterior per
            draw of a calibration (a leading axis over draws).
        posterior: the calibration's draws the hindcast ran over, if any.
        predicted: one row per year, state and power: p5, p50, p95, observed, n_votes, training.
        scores: training-years scores of the model and the two baselines.
    """

    scenario: Scenario
    params: Params
    obs: observe.Observed
    fit: observe.LinkFit
    posterior: posterior.Posterior | None
    predicted: pd.DataFrame
    scores: list[observe.Score]
    replicates: int
    seed: int
    link: str
    until: int
    draws: int
    theta: mixture.Theta | None = None
    rolling: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: dict[str, dict[str, str]] = field(default_factory=dict)


def _check(req: HindcastRequest) -> None:
    if req.replicates is not None and req.replicates < 1:
        raise SimError(f"replicates: expected at least 1, found {req.replicates}")
    if req.seed is not None and req.seed < 0:
        raise SimError(f"seed: expected a non-negative integer, found {req.seed}")
    if req.draws < 1:
        raise SimError(f"draws: expected at least 1, found {req.draws}")
    observe.Link(req.link, req.offsets)  # checks both


def _units(
    req: HindcastRequest, sc: Scenario, p: Params, years: list[int], mutual: np.ndarray,
    progress: Callable[[int], None] | None,
) -> tuple[posterior.Posterior | None, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """The model's yearly alignment, one row per replicate (or per posterior draw: its
    replicates' mean), with the vote mixture's moments (over all replicates, or per draw)."""
    if req.posterior is not None:
        post = posterior.load(req.posterior).thin(req.posterior_draws)
        posterior.check_scenario(post, sc, req.scenario)
        fitted = post.manifest.get("training_years") or [None, None]
        if fitted[1] is not None and int(fitted[1]) > req.until:
            # its constants and link were fitted on votes this hindcast would score as unseen
            raise SimError(
                f"until: the posterior in {req.posterior} was fitted on the votes of "
                f"{fitted[0]}-{fitted[1]}, later than {req.until}; score an origin with a "
                f"posterior fitted up to it (sim calibrate --until {req.until}) or "
                f"--without-posterior"
            )
        cols, patch = calibrate.bind(sc, post.model_quantities, req.scenario)
        abar, fm, fv = calibrate.moments(
            patch, cols, post.model_quantities, post.values(), replicates=post.replicates,
            seed=post.seed, dates=p.dates, years=years, mutual=mutual,
        )  # (D, Y, S, P): each draw as its likelihood saw it
        if progress is not None:
            progress(len(abar))
        return post, abar, fm, fv, len(abar), post.seed
    n = sc.replicates if req.replicates is None else req.replicates
    seed = sc.seed if req.seed is None else req.seed
    parts = []
    for reps in engine.chunks(n, 1024):
        traj = engine.simulate(p, reps, seed)
        parts.append(observe.yearly(traj.alignment, p.dates, years))
        if progress is not None:
            progress(len(reps))
    ab = np.concatenate(parts)
    fm, fv = mixture.moments(ab, mutual)
    return None, ab, fm, fv, n, seed


def _offsets_forecast(
    post: posterior.Posterior | None, units: np.ndarray, obs: observe.Observed,
    link: observe.Link, bloc: np.ndarray, gen: np.random.Generator, draws: int,
) -> tuple[observe.LinkFit, np.ndarray]:
    """The covariate link's fit and predictive draws: per posterior draw where the posterior
    was fitted with it, else fitted on the units' mean (empirical Bayes) and drawn per unit."""
    x = observe.covariate(units, link.covariate, bloc)
    if post is not None and not post.link.mixture:
        sigma = post.draws["observation.sigma"].to_numpy(dtype=float)
        tau = (post.draws["observation.tau"].to_numpy(dtype=float)
               if "observation.tau" in post.draws else np.ones(len(x)))
        fit = observe.posterior(x, obs, link, sigma, tau)
        sig = sigma
    else:
        fit = observe.empirical_bayes(x.mean(axis=0), obs, link)
        sig = np.full(len(x), float(fit.sigma))
    chol = np.linalg.cholesky(fit.cov)
    beta = fit.mean + np.einsum("...ij,...j->...i", chol,
                                gen.standard_normal((len(x), fit.mean.shape[-1])))
    mu = observe.mean_logit(x, obs, fit, beta)
    return fit, observe.predictive(mu, sig, obs, gen, draws)


def simulate(
    req: HindcastRequest, progress: Callable[[int], None] | None = None
) -> Hindcast:
    """Run the history scenario, fit the link on the training years, predict every year, and
    score the observed years after ``until`` against the other link and the baselines."""
    _check(req)
    sc = load(req.scenario, req.sets)
    p = build(sc)
    years, obs = _observed(req, p)
    bloc = observe.bloc_index(p.powers, sc.blocs)
    M = mixture.powers_matrix(datasets.load_powers(req.powers), years, p.powers,
                              source=str(req.powers))
    W = mixture.world_share(obs)
    post, units, fm, fv, n, seed = _units(req, sc, p, years, M, progress)
    link = post.link if post is not None else observe.Link(req.link, req.offsets)
    gen = named_stream(seed, "observation")
    theta, mix_draws = _mixture_forecast(req, obs, post, link, fm, fv, W, gen)
    # the covariate link (the posterior's if it was fitted with one, else power/state offsets)
    cov_link = link if not link.mixture else observe.Link("power", "state")
    fit, cov_draws = _offsets_forecast(post, units, obs, cov_link, bloc, gen, req.draws)
    mix_name = "vote mixture link"
    cov_name = f"offsets link ({cov_link.covariate} covariate, {cov_link.offsets} offsets)"
    forecasts = [
        rolling.Forecast(mix_name, mix_draws, len(mixture.NAMES)),
        rolling.Forecast(cov_name, cov_draws, fit.mean.shape[-1] + 2),
        _world_forecast(obs, fm, W, gen),
        *rolling.baselines(obs, gen),
    ]
    chosen = forecasts[0] if link.mixture else forecasts[1]
    q = chosen.quantiles()
    scores = observe.scores(q[1], obs, parameters=chosen.parameters or 0)
    return Hindcast(
        scenario=sc,
        params=p,
        obs=obs,
        fit=fit,
        posterior=post,
        predicted=predicted_table(obs, q, chosen.draws.mean(axis=0)),
        scores=scores,
        replicates=n,
        seed=seed,
        link=(mix_name if link.mixture else cov_name),
        until=req.until,
        draws=req.draws,
        theta=theta if link.mixture else None,
        rolling=rolling.score(forecasts, obs, req.until),
        data={
            name: {"file": str(path), "sha256": datasets.sha256(path)}
            for name, path in (("agreement", req.agreement), ("world", req.world),
                               ("powers", req.powers))
        },
    )


def _observed(req: HindcastRequest, p: Params) -> tuple[list[int], observe.Observed]:
    """The scenario's calendar years and the observed votes on its grid, ``until`` checked
    against both."""
    agreement = datasets.load_agreement(req.agreement)
    world = datasets.load_world(req.world)
    years = observe.calendar_years(p.dates)
    if req.until < years[0] or req.until >= years[-1]:
        raise SimError(
            f"until: expected a year from {years[0]} to {years[-1] - 1} (the scenario's "
            f"calendar), found {req.until}"
        )
    last_data = int(agreement["year"].max())
    if req.until > last_data:
        raise SimError(
            f"until: {req.agreement} has observations up to {last_data}, found {req.until}"
        )
    obs = observe.observed(
        agreement, world, years=years, states=p.states, powers=p.powers, until=req.until,
        source=str(req.agreement), world_source=str(req.world),
    )
    return years, obs


def _mixture_forecast(
    req: HindcastRequest, obs: observe.Observed, post: posterior.Posterior | None,
    link: observe.Link, fm: np.ndarray, fv: np.ndarray, world: np.ndarray,
    gen: np.random.Generator,
) -> tuple[mixture.Theta, np.ndarray]:
    """The vote mixture's parameters (the posterior's per draw, or fitted on the training
    years) and its predictive draws of every cell."""
    if post is not None and link.mixture:
        theta = mixture.theta_of(post.draws)
    else:
        theta, _ = mixture.fit(obs, fm if fm.ndim == 3 else fm.mean(axis=0),
                               fv if fv.ndim == 3 else fv.mean(axis=0), world)
    mean, var = mixture.predictive_moments(obs, fm, fv, world, theta)
    mix_draws = mixture.sample(mean, var, gen, max(1, (req.draws * 100) // len(mean.reshape(
        -1, *mean.shape[-3:]))))
    return theta, mix_draws


def _world_forecast(
    obs: observe.Observed, fm: np.ndarray, world: np.ndarray, gen: np.random.Generator
) -> rolling.Forecast:
    """The world's agenda with an AR(1) offset and no model at all (own way = 1)."""
    world_theta, _ = mixture.fit(obs, fm if fm.ndim == 3 else fm.mean(axis=0),
                                 np.zeros(obs.agree.shape), world, fixed={"own": 1.0})
    wm, wv = mixture.predictive_moments(obs, np.zeros(obs.agree.shape), np.zeros(
        obs.agree.shape), world, world_theta)
    return rolling.from_normal("world + AR(1) offset, no model", wm, np.sqrt(wv), gen,
                               len(mixture.NAMES) - 1)


def predicted_table(obs: observe.Observed, q: np.ndarray, mean: np.ndarray) -> pd.DataFrame:
    """``year, state, power, p5, p50, p95, mean, observed, n_votes, training`` per cell."""
    Y, S, P = obs.agree.shape
    t, s, p = (a.ravel() for a in np.meshgrid(range(Y), range(S), range(P), indexing="ij"))
    seen = ~np.isnan(obs.agree[t, s, p])
    return pd.DataFrame(
        {
            "year": obs.years[t],
            "state": np.array(obs.states)[s],
            "power": np.array(obs.powers)[p],
            "p5": q[0][t, s, p],
            "p50": q[1][t, s, p],
            "p95": q[2][t, s, p],
            "mean": mean[t, s, p],
            "observed": obs.agree[t, s, p],
            "n_votes": np.where(seen, obs.n[t, s, p], np.nan),
            "training": obs.training[t],
        }
    )


def coverage(h: Hindcast) -> float:
    """Share of the training observations inside their 5-95% predictive band."""
    d = h.predicted[h.predicted.training & h.predicted.observed.notna()]
    return float(((d.observed >= d.p5) & (d.observed <= d.p95)).mean())


@dataclass(frozen=True)
class LinkSummary:
    """The link's coefficients summarised over the posterior draws (if any): mean and sd (law
    of total variance), and the variances' medians."""

    mean: np.ndarray
    sd: np.ndarray
    sigma: float
    tau: float
    log_ml: float


def link_summary(h: Hindcast) -> LinkSummary:
    """Summarise ``h.fit`` over its leading draw axis (or take it as it is)."""
    f = h.fit
    mean = f.mean.reshape(-1, f.mean.shape[-1])
    var = np.diagonal(f.cov, axis1=-2, axis2=-1).reshape(mean.shape)
    return LinkSummary(
        mean=mean.mean(axis=0),
        sd=np.sqrt(var.mean(axis=0) + mean.var(axis=0)),
        sigma=float(np.median(f.sigma)),
        tau=float(np.median(f.tau)),
        log_ml=float(np.mean(f.log_ml)),
    )


def theta_rows(h: Hindcast) -> list[dict[str, object]]:
    """The vote mixture's parameters: median and 5-95% over the posterior's draws (one value,
    fitted by maximum likelihood, without a posterior)."""
    if h.theta is None:
        return []
    rows: list[dict[str, object]] = []
    for name in mixture.NAMES:
        v = np.atleast_1d(np.asarray(getattr(h.theta, name), dtype=float))
        rows.append({"parameter": f"observation.{name}", "value": float(np.median(v)),
                     "sd": float(v.std()) if len(v) > 1 else np.nan,
                     "p5": float(np.quantile(v, 0.05)), "p95": float(np.quantile(v, 0.95))})
    return rows


def fit_table(h: Hindcast) -> pd.DataFrame:
    """The vote mixture's parameters (if it is the link), then the covariate link's
    coefficients (posterior mean and sd) and its two variances."""
    ls = link_summary(h)
    P = h.fit.powers
    rows: list[dict[str, object]] = [*theta_rows(h)]
    rows += [
        {"parameter": f"delta[{p}]", "value": float(ls.mean[j]), "sd": float(ls.sd[j])}
        for j, p in enumerate(h.obs.powers)
    ]
    if h.fit.link.offsets == "state":
        for i, s in enumerate(h.obs.states):
            for j, p in enumerate(h.obs.powers):
                k = P + i * P + j
                rows.append({"parameter": f"eps[{s},{p}]", "value": float(ls.mean[k]),
                             "sd": float(ls.sd[k])})
    rows.append({"parameter": "gamma", "value": float(ls.mean[-1]), "sd": float(ls.sd[-1])})
    rows.append({"parameter": "sigma", "value": ls.sigma, "sd": np.nan})
    if h.fit.link.offsets == "state":
        rows.append({"parameter": "tau", "value": ls.tau, "sd": np.nan})
    return pd.DataFrame(rows)


def scores_table(h: Hindcast) -> pd.DataFrame:
    """Training-years scores: method, fitted parameters, log-likelihood, RMSE, cells."""
    return pd.DataFrame(
        [
            {"method": s.method, "parameters": s.parameters, "loglik": s.loglik, "rmse": s.rmse,
             "cells": s.cells}
            for s in h.scores
        ]
    )


@dataclass(frozen=True)
class HindcastOutcome:
    """Where a hindcast wrote its results, and what it found."""

    folder: Path
    hindcast: Hindcast
    seconds: float


def run_hindcast(
    req: HindcastRequest, progress: Callable[[int], None] | None = None
) -> HindcastOutcome:
    """Simulate and write ``out/<scenario>/hindcasts/<run-id>/``."""
    started, t0 = results.now(), time.perf_counter()
    results.check_out(req.out)
    h = simulate(req, progress)
    folder = req.out / h.scenario.name / "hindcasts" / results.new_run_id()
    with results.atomic_folder(folder) as tmp:
        write(h, tmp)
        results.write_json(tmp / "manifest.json", manifest(h, req, started, t0))
        report.write_report(tmp, label=folder.name)
    return HindcastOutcome(folder, h, time.perf_counter() - t0)


def headline(h: Hindcast) -> list[dict[str, str]]:
    """What a hindcast's report shows first: the years fitted, the scores, the coverage."""
    first, last = int(h.obs.years[0]), int(h.obs.years[-1])
    rows = [
        {
            "label": "fitted on",
            "value": f"{first}-{h.until}",
            "note": f"the link is fitted on these years only; {h.until + 1}-{last} are "
            "predictions, not compared with any vote in this project",
        }
    ]
    for s in h.scores:
        rows.append(
            {
                "label": f"RMSE, {s.method}",
                "value": f"{100 * s.rmse:.1f} points",
                "note": f"training years, {s.cells} observations; log-likelihood "
                f"{s.loglik:.1f} with {s.parameters} fitted parameters"
                + (" (state offsets shrunk toward the power's)" if s.method == "model"
                   and h.fit.link.offsets == "state" else ""),
            }
        )
    rows.append(
        {
            "label": "inside the 90% band",
            "value": f"{coverage(h):.0%}",
            "note": "share of training observations inside their 5-95% predictive band "
            "(model noise, link and vote counts; not the behavioural parameters' uncertainty)",
        }
    )
    return rows


def write(h: Hindcast, folder: Path) -> None:
    """The tables, the resolved scenario and the figures of a hindcast into ``folder``."""
    h.predicted.to_csv(folder / "predicted_agreement.csv", index=False, float_format="%.6g")
    if not h.rolling.empty:
        h.rolling.to_csv(folder / "rolling_origin.csv", index=False, float_format="%.6g")
    fit_table(h).to_csv(folder / "fit.csv", index=False, float_format="%.6g")
    scores_table(h).to_csv(folder / "scores.csv", index=False, float_format="%.6g")
    (folder / "scenario.yaml").write_text(to_yaml(h.scenario), encoding="utf-8")
    obs, p = h.obs, h.params
    Y, S, P = obs.agree.shape
    q = np.stack([h.predicted[c].to_numpy().reshape(Y, S, P) for c in ("p5", "p50", "p95")])
    look = plots.make_look(p, h.scenario)
    events = sorted({ev.date for ev in h.scenario.events.values()})
    runs = (f"{h.replicates} posterior draws (each its own link)" if h.posterior is not None
            else f"{h.replicates} replicates")
    note = f"{runs} x {h.draws} draws of the vote-count and yearly noise; link: {h.link}."
    for j, power in enumerate(p.powers):
        fig = agreement_bands(
            [int(y) for y in obs.years], q[:, :, :, j], obs.agree[:, :, j], states=p.states,
            power=power, until=h.until, world=observe.expit(obs.alpha[:, j]), events=events,
            look=look, title=h.scenario.title, note=note,
        )
        plots.save(fig, folder / "plots", f"agreement_{power}")


def manifest(
    h: Hindcast, req: HindcastRequest, started: str, t0: float
) -> dict[str, object]:
    """What produced a hindcast, and its headline figures."""
    ls = link_summary(h)
    return {
        "kind": "hindcast",
        "scenario": h.scenario.name,
        "title": h.scenario.title,
        "question": h.scenario.question,
        "scenario_file": str(req.scenario),
        "scenario_file_sha256": file_digest(req.scenario),
        "resolved_scenario_sha256": scenario_digest(h.scenario),
        "overrides": list(req.sets),
        "seed": h.seed,
        "replicates": h.replicates,
        "observation_draws_per_replicate": req.draws,
        "rounds": h.params.rounds,
        "dates": [h.params.dates[0].isoformat(), h.params.dates[-1].isoformat()],
        "training_years": [int(h.obs.years[0]), h.until],
        "predicted_years": [int(h.obs.years[0]), int(h.obs.years[-1])],
        "held_out": (
            f"years after {h.until} are predicted from the model and the world series only; "
            "no observation of them was used"
        ),
        "link": h.link,
        "interval": (
            "5-95% of the predictive distribution of the observed share of identical votes: "
            + ("the calibrated parameters' posterior (each draw with its own link, sigma and "
               "tau), the link's coefficients, their yearly deviation and the vote count's "
               "binomial noise" if h.posterior is not None else
               "model noise over replicates, the link's coefficients, their yearly deviation "
               "(sigma) and the vote count's binomial noise; the behavioural parameters are the "
               "scenario's, without their own uncertainty")
        ),
        "data": h.data,
        "vote_mixture": {r["parameter"]: {k: r[k] for k in ("value", "p5", "p95")}
                         for r in theta_rows(h)} or None,
        "rolling_origin": (None if h.rolling.empty else {
            "origin": h.until, "scored_years": sorted({int(y) for y in h.obs.years[
                rolling.held_mask(h.obs).any(axis=(1, 2))]}),
            "all": h.rolling[h.rolling.group == "all"].drop(columns="group").to_dict(
                orient="records"),
        }),
        "covariate_link_fit": {
            "delta": dict(zip(h.obs.powers, map(float, ls.mean[: h.fit.powers]), strict=True)),
            "gamma": float(ls.mean[-1]),
            "sigma": ls.sigma,
            "tau": ls.tau if h.fit.link.offsets == "state" else None,
            "log_marginal_likelihood": ls.log_ml,
            "observations": h.fit.n_obs,
        },
        "posterior": None if h.posterior is None else {
            "folder": str(h.posterior.folder),
            "draws_used": len(h.posterior.draws),
            "quantities": h.posterior.quantities,
            "training_years": h.posterior.manifest.get("training_years"),
        },
        "scores": scores_table(h).to_dict(orient="records"),
        "training_coverage_90": coverage(h),
        "headline": headline(h),
        "parameters": parameters(h.scenario),
        "states": h.params.states,
        "powers": h.params.powers,
        "command": results.command_line(),
        "versions": results.versions(),
        "started": started,
        "finished": results.now(),
        "seconds": round(time.perf_counter() - t0, 3),
    }


def _against_baselines(scores: Sequence[observe.Score]) -> str:
    """One line: the model's training RMSE against each naive baseline's, lower is better (the
    "recent offset carried with the world's agenda" one first where it is scored)."""
    model = next((s for s in scores if s.method == "model"), None)
    others = sorted((s for s in scores if s is not model),
                    key=lambda s: ("recent" not in s.method, s.method))
    if model is None or not others:
        return "no baseline scored"
    parts = []
    for s in others:
        if s.rmse > 0:
            change = 1 - model.rmse / s.rmse
            parts.append(f"{abs(change):.0%} {'lower' if change >= 0 else 'higher'} than "
                         f"{s.method.split(' (')[0]}'s ({s.rmse:.4f})")
    return f"the model against the baselines: its training RMSE ({model.rmse:.4f}) is " + (
        ", ".join(parts) or "not comparable") + " (lower is better)"


def _per_group(table: pd.DataFrame) -> str:
    """RMSE per state and per power of the model's link, the other link and the baseline to
    beat, one line per group."""
    methods = [*list(dict.fromkeys(table.method))[:2], rolling.TO_BEAT]
    groups = [g for g in dict.fromkeys(table.group) if g != "all"]
    width = max(len(g) for g in groups)
    lines = ["RMSE by state and power (" + " | ".join(methods) + "):"]
    for g in groups:
        vals = []
        for m in methods:
            r = table[(table.group == g) & (table.method == m)]
            vals.append(f"{float(r.rmse.iloc[0]):.4f}" if len(r) else "   -  ")
        lines.append(f"  {g:<{width}}  " + " | ".join(vals))
    return "\n".join(lines)


def format_outcome(outcome: HindcastOutcome) -> str:
    """What a hindcast prints: the fit, the scores against the baselines, where it wrote."""
    h = outcome.hindcast
    ls = link_summary(h)
    over = (h.posterior.plain() if h.posterior is not None
            else "the scenario's own constants")
    lines = [
        f"hindcast of {h.scenario.name}: fitted on {int(h.obs.years[0])}-{h.until} "
        f"({h.fit.n_obs} observations), predicted to {int(h.obs.years[-1])}; link: {h.link}",
        f"over {over}",
    ]
    if h.theta is not None:
        lines.append("vote mixture: " + ", ".join(
            f"{str(r['parameter']).removeprefix('observation.')} {r['value']:.3f}"
            for r in theta_rows(h)))
    lines += [
        ("covariate link beside it: " if h.theta is not None else "link: ")
        + f"gamma {ls.mean[-1]:+.3f} (sd {ls.sd[-1]:.3f}), sigma {ls.sigma:.3f}"
        + (f", tau {ls.tau:.3f}" if h.fit.link.offsets == "state" else "")
        + ", delta "
        + ", ".join(f"{p} {d:+.2f}" for p, d in zip(h.obs.powers, ls.mean, strict=False)),
        "training-years scores (same cells for every method"
        + ("; the vote mixture's are one year ahead, each year predicted from the years before "
           "it, the offset baseline's an in-sample fit):" if h.theta is not None else "):"),
    ]
    width = max(len(s.method) for s in h.scores)
    for s in h.scores:
        lines.append(f"  {s.method:<{width}}  RMSE {s.rmse:.4f}  log-lik {s.loglik:9.1f}  "
                     f"({s.parameters} fitted)")
    lines.append(_against_baselines(h.scores))
    lines.append(f"training observations inside their 90% band: {coverage(h):.0%}")
    if h.rolling.empty:
        lines.append(f"{h.until + 1}-{int(h.obs.years[-1])}: predictions only (no observation "
                     "of these years in the data: nothing is scored)")
    else:
        lines.append(f"rolling origin: fitted to {h.until}, scored on every observed year after "
                     "it (agreement units; the recent offset carried with the world's agenda "
                     "is the baseline to beat):")
        lines.append(rolling.format_table(h.rolling))
        lines.append(_per_group(h.rolling))
    lines.append(f"results: {outcome.folder}  ({outcome.seconds:.2f} s)")
    return "\n".join(lines)
