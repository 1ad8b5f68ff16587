"""sim.model.kernel: one round, the same numbers in any memory layout; its steps are ODD section
3."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import kernel
from sim.model.params import build
from sim.model.rng import draw_block
from sim.scenario.schema import load

from .conftest import FLAGSHIP


def test_round_gives_the_same_numbers_in_any_memory_layout():
    """The engine computes on replicate-fastest arrays; C-ordered copies give the same bits."""
    p = build(load(FLAGSHIP))
    z = draw_block(p.seed, np.arange(40), p.rounds, len(p.powers), len(p.states))
    fast = kernel.initial_state(p, (40,))
    plain = kernel.State(*(np.ascontiguousarray(x) for x in vars(fast).values()))
    assert not fast.alignment.flags.c_contiguous and plain.alignment.flags.c_contiguous
    for r in range(1, p.rounds + 1):
        fast = kernel.advance(p, fast, r, kernel.shocks(p, z[:, r - 1]))
        plain = kernel.advance(p, plain, r, kernel.shocks(p, np.ascontiguousarray(z[:, r - 1])))
    for key in ("alignment", "engagement", "new_debt", "delivered"):
        np.testing.assert_array_equal(getattr(fast, key), getattr(plain, key))


def test_initial_state_and_debt_at_round_zero(tiny_params):
    s0 = kernel.initial_state(tiny_params, (2,))
    np.testing.assert_array_equal(kernel.debt(tiny_params, s0, 0)[0], tiny_params.debt0)


def test_advance_numbers_the_steps_of_odd_section_3():
    """kernel.advance's numbered comments are ODD section 3's steps, by number and name."""
    import inspect
    import re

    from .conftest import ROOT

    code = inspect.getsource(kernel.advance)
    steps = re.findall(r"# (\d)\. ([A-Z][a-z]+(?: and [a-z]+)?):", code)
    odd = (ROOT / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = odd.split("## 3.")[1].split("\n## ")[0]
    listed = re.findall(r"^(\d)\. \*\*([^*]+)\*\*", section, flags=re.M)
    assert steps == listed[: len(steps)]
    assert [int(n) for n, _ in listed] == list(range(1, len(listed) + 1))
    assert len(listed) == len(steps) + 1 and listed[-1][1] == "Record"  # the caller records


def test_a_loans_burden_is_its_face_less_its_grant_element() -> None:
    """Debt reported at face; the burden a state weighs at (1 - grant element) per dollar, so
    softer terms lower the debt term and leave the reported debt unchanged."""
    from pathlib import Path

    tiny = Path(__file__).parent / "cases" / "tiny.yaml"
    states = {}
    for g in ("0.2", "0.8"):
        why = "{value: " + g + ", why: the terms of a test loan}"
        p = build(load(tiny, [f"powers.PY.instruments.loans.grant_element={why}"]))
        calm = kernel.Shocks(np.zeros((2, 2)), np.ones((2, 2)))
        s = kernel.initial_state(p)
        for r in range(1, p.rounds + 1):
            s = kernel.advance(p, s, r, calm)
        states[g] = s
        py = p.powers.index("PY")
        assert s.new_debt[:, py].min() > 0
        np.testing.assert_allclose(s.burden[:, py], (1 - float(g)) * s.new_debt[:, py])
    np.testing.assert_allclose(states["0.2"].new_debt, states["0.8"].new_debt)


def test_grant_element_only_on_loans() -> None:
    from pathlib import Path

    from sim.core.errors import ScenarioError

    tiny = Path(__file__).parent / "cases" / "tiny.yaml"
    with pytest.raises(ScenarioError, match="grant_element: only a loan has one"):
        load(tiny, ["powers.PX.instruments.grants.grant_element="
                    "{value: 0.5, why: a test of where terms belong}"])
