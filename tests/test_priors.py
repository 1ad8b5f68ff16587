"""Priors files: the shipped one loads; bad ones are one line naming the file and field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.calibration import priors
from sim.core.errors import SimError

from .conftest import CASES, ROOT

GOOD = CASES / "calib" / "priors.yaml"


def test_the_shipped_priors_load_with_their_reasons():
    p = priors.load(ROOT / "scenarios" / "priors" / "central_asia.yaml")
    assert p.scenario_path.name == "central_asia_1992.yaml"
    assert p.link.mixture and p.spec.until == 2012
    assert {f"observation.{n}" for n in ("own", "noise", "rho", "omega", "tau")} <= set(
        p.prior.names)
    assert "sharpness" not in p.prior.names
    for d in (*p.prior.dims, *p.carried.dims):
        assert len(d.why) > 20, d.name
    # what the votes cannot inform is carried, and Japan's own record sets the delivery prior
    assert "delivery_business_target" in p.carried.names
    assert p.carried.subset(["delivery_business_target"]).dims[0].median == pytest.approx(0.3)
    w = p.prior.subset(["w_econ"]).dims[0]
    assert w.median == pytest.approx(0.2)  # today's assumption is the prior's median


@pytest.mark.parametrize("dist", ["lognormal", "logitnormal", "uniform", "loguniform"])
def test_transforms_and_densities(dist):
    kw = dict(loc=0.0, scale=1.0, low=math.nan, high=math.nan)
    if dist == "lognormal":
        kw.update(loc=math.log(2.0), scale=0.5)
    elif dist == "logitnormal":
        kw.update(loc=math.log(0.3 / 0.7), scale=0.5)
    elif dist == "uniform":
        kw.update(low=-1.0, high=3.0)
    else:
        kw.update(low=0.1, high=10.0)
    d = priors.Dimension("q", dist, median=1.0, why="a test quantity", **kw)
    gen = np.random.Generator(np.random.PCG64(1))
    u = d.sample(gen, 200_000)
    x = d.to_natural(u)
    np.testing.assert_allclose(d.to_unconstrained(x), u, atol=1e-8)
    assert all(d.contains(float(v)) for v in x[:100])
    # the density integrates to one and matches the samples
    grid = np.linspace(-12, 12, 20001)
    assert np.trapezoid(np.exp(d.logpdf(grid)), grid) == pytest.approx(1.0, abs=1e-4)
    hist, edges = np.histogram(u, bins=40, range=(-3, 3), density=True)
    mids = (edges[1:] + edges[:-1]) / 2
    inside = (u > -3) & (u < 3)
    np.testing.assert_allclose(hist * inside.mean(), np.exp(d.logpdf(mids)), atol=0.02)


def write(tmp_path, text):
    path = tmp_path / "priors.yaml"
    path.write_text(text)
    return path


BASE = "scenario: " + str(CASES / "calib" / "history.yaml") + """
until: 2031
select: 1
observation: {offsets: power, delta_sd: 1, gamma: {mean: 0, sd: 1}, why: "weak test priors"}
quantities:
"""


def entry(name: str, body: str, why: str = "a good reason here") -> str:
    return f'  {name}: {{{body}, why: "{why}"}}'


W = "calib_w_security"


@pytest.mark.parametrize(
    ("quantities", "expect"),
    [
        (entry(W, f"distribution: lognormal, median: {W}, factor: 1"),
         f"quantities.{W}.factor: Input should be greater than 1"),
        (entry(W, "distribution: uniform, low: 2, high: 1"), "expected low < high"),
        (entry(W, "distribution: lognormal, median: nosuch, factor: 3"),
         f"quantities.{W}.median: unknown registry id 'nosuch'"),
        (entry("calib_stubbornness", "distribution: logitnormal, median: {value: 1.5, why: "
               '"a share above one"}, factor: 3'),
         "logitnormal needs a median in (0, 1), found 1.5"),
        (entry("nosuch_quantity", "distribution: lognormal, median: one, factor: 3"),
         "quantities.nosuch_quantity: unknown quantity"),
        (entry(W, "distribution: loguniform, low: 0, high: 3"), "loguniform needs low > 0"),
        (entry(W, f"distribution: lognormal, median: {W}, factor: 3, spread: 2"),
         f"quantities.{W}.spread: unknown key"),
    ],
)
def test_bad_priors(tmp_path, quantities, expect):
    path = write(tmp_path, BASE + quantities + "\n")
    with pytest.raises(SimError) as err:
        priors.load(path)
    assert str(err.value).startswith(str(path)) and expect in str(err.value)


def test_select_more_than_listed(tmp_path):
    body = entry(W, f"distribution: lognormal, median: {W}, factor: 3")
    path = write(tmp_path, BASE.replace("select: 1", "select: 3") + body + "\n")
    with pytest.raises(SimError, match="select: expected at most 1"):
        priors.load(path)
