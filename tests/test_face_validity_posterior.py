"""Face validity over the shipped posterior: each claim on draws x replicates, not only at the
registry's values (tests/test_face_validity.py), and the claims about what the package's parts
must not do.

Every ensemble here runs 100 posterior draws (spread evenly) x 4 replicates, all scenarios on
the same root seed, so that replicate k of draw d is paired across scenarios. A claim holds
when it holds in the share of these 400 paths the claim's own margin asks; each test prints
the share it found. Claims marked as inputs restate what the anchors were built from (stated
priorities, trade, security ties) and cannot fail while the anchors stand; they are kept to
guard the anchors, not counted as validation. "Visible" compares a paired effect with the
noise it would have to stand out from: the spread among one draw's replicates, pooled over
draws (the spread across draws is parameter uncertainty, which pairing does not remove and
the effect's interval reports).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from sim.calibration.posterior import SHIPPED, ensemble
from sim.calibration.posterior import load as load_posterior
from sim.model.params import build
from sim.scenario.schema import load
from tests.test_face_validity import CLAIMS, SCENARIOS, Ensemble, Verdict, frac, to_answer

DRAWS, REPLICATES, ROOT = 100, 4, 20251220
#: Claims the anchors were built to satisfy, and the patterns of today's region the posterior
#: is conditioned on (scenarios/priors: balancing, a stable status quo and Kazakhstan's order
#: on baseline_2025): inputs, not tests of the model.
INPUTS = {"kaz_sco_eaeu_first", "uzb_architecture", "china_russia_majority", "balancing",
          "baseline_stable"}


@cache
def run(name: str, sets: tuple[str, ...] = ()) -> Ensemble:
    """A shipped scenario over the shipped posterior (100 draws x 4 replicates, paired)."""
    path = SCENARIOS / f"{name}.yaml"
    sc = load(path, list(sets))
    post = load_posterior(SHIPPED).thin(DRAWS)
    traj, _ = ensemble(post, sc, path, REPLICATES, ROOT, keep=("alignment",))
    p = build(sc)
    return Ensemble(p, to_answer(sc, p, traj.alignment), block=REPLICATES)


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.key for c in CLAIMS])
def test_claim_holds_over_the_posterior(claim, capsys) -> None:  # type: ignore[no-untyped-def]
    verdict = claim.check(run)
    kind = "input" if claim.key in INPUTS else "test"
    with capsys.disabled():
        print(f"\n[{kind}] {claim.key}: {'holds' if verdict.holds else 'FAILS'}; {verdict.detail}")
    assert verdict.holds, f"{claim.text}: {verdict.detail}"


def japan_leads_nowhere(runs) -> Verdict:  # type: ignore[no-untyped-def]
    """With its package, Japan is the leading power of no state in at least 99% of paths."""
    t = runs("tokyo_initiative")
    j = t.q("JPN")
    leads = (t.a.argmax(axis=-1) == j).any(axis=(1, 2))  # in any state, at any round
    return Verdict(frac(~leads) >= 0.99, f"Japan leads some state in {frac(leads):.1%} of paths")


def summits_of_2025_fade(runs) -> Verdict:  # type: ignore[no-untyped-def]
    """Dropping every summit held in 2025 moves no power's 2030 regional share by 0.5 pp."""
    sc = load(SCENARIOS / "tokyo_initiative.yaml")
    gone = tuple(f"events.{k}=null" for k, ev in sc.events.items()
                 if ev.type == "summit" and ev.date.year == 2025)
    assert len(gone) >= 6, gone  # EU, China, Russia, US, CSTO, Tokyo and its preparation
    t, d = runs("tokyo_initiative"), runs("tokyo_initiative", gone)
    diff = np.abs(t.region[:, -1] - d.region[:, -1]).mean(axis=0)
    return Verdict(bool(diff.max() < 0.005),
                   "largest mean change " + f"{100 * diff.max():.2f} pp ({len(gone)} summits)")


def concessional_debt_does_not_repel(runs) -> Verdict:  # type: ignore[no-untyped-def]
    """Japan's concessional loans do not lower Japan's share anywhere: with them its share in
    each state is at least what it is without them, in 99% of paired paths."""
    t = runs("tokyo_initiative")
    n = runs("tokyo_initiative", ("powers.JPN.instruments.infrastructure_loans=null",))
    j = t.q("JPN")
    gain = t.final[..., j] - n.final[..., j]  # (path, state)
    share = frac((gain >= 0).all(axis=1))
    return Verdict(share >= 0.99, f"not lower in every state in {share:.1%} of paths; mean by "
                   "state " + ", ".join(f"{100 * x:+.3f}" for x in gain.mean(axis=0)) + " pp")


def corridor_costs_russia_on_the_route(runs) -> Verdict:  # type: ignore[no-untyped-def]
    """A rebuilt Middle Corridor costs Russia more in the states it crosses (Kazakhstan,
    Turkmenistan, Uzbekistan) than in Kyrgyzstan and Tajikistan."""
    m, t = runs("middle_corridor"), runs("tokyo_initiative")
    r = m.q("RUS")
    loss = (m.final[..., r] - t.final[..., r]).mean(axis=0)
    on = max(loss[m.s(c)] for c in ("KAZ", "TKM", "UZB"))  # the smallest loss on the route
    off = min(loss[m.s(c)] for c in ("KGZ", "TJK"))
    return Verdict(bool(on < off and on < 0),
                   "Russia's change by state " + ", ".join(
                       f"{s} {100 * x:+.3f}" for s, x in zip(m.p.states, loss, strict=True))
                   + " pp")


NEW = (japan_leads_nowhere, summits_of_2025_fade, concessional_debt_does_not_repel,
       corridor_costs_russia_on_the_route)


@pytest.mark.parametrize("check", NEW, ids=[c.__name__ for c in NEW])
def test_package_claims_over_the_posterior(check, capsys) -> None:  # type: ignore[no-untyped-def]
    verdict = check(run)
    with capsys.disabled():
        print(f"\n[test] {check.__name__}: {'holds' if verdict.holds else 'FAILS'}; "
              f"{verdict.detail}")
    assert verdict.holds, verdict.detail


def test_the_package_claims_can_fail() -> None:
    """Each new check fails on a case built to break it."""
    # Japan leads when its business target is a hundred times larger and all of it goes to
    # Turkmenistan, which weighs money five times more
    huge = ("powers.JPN.instruments.business_target.pledged_usd_bn=1900",
            "powers.JPN.instruments.business_target.delivery_rate=1",
            "powers.JPN.instruments.business_target.allocation.shares={TKM: attendance_full}",
            "states.TKM.weights.econ=5")

    def swapped(name: str, sets: tuple[str, ...] = ()) -> Ensemble:
        return run(name, sets + huge) if name == "tokyo_initiative" else run(name, sets)

    assert not japan_leads_nowhere(swapped).holds

    # loans that weigh as debt far beyond their value repel
    def heavy(name: str, sets: tuple[str, ...] = ()) -> Ensemble:
        more = ("states.UZB.weights.debt=400", "states.KGZ.weights.debt=400",
                "states.TJK.weights.debt=400", "states.KAZ.weights.debt=400",
                "states.TKM.weights.debt=400")
        return run(name, sets + more)

    assert not concessional_debt_does_not_repel(heavy).holds

    # a corridor whose EU trade gains go to Kyrgyzstan and Tajikistan instead
    def elsewhere(name: str, sets: tuple[str, ...] = ()) -> Ensemble:
        if name != "middle_corridor":
            return run(name, sets)
        moved = tuple(f"events.corridor_eu_trade_{y}.states=[KGZ, TJK]"
                      for y in (2027, 2028, 2029))
        return run(name, sets + moved)

    assert not corridor_costs_russia_on_the_route(elsewhere).holds
