"""A named outcome as sweep and policy files declare it: what to measure of a point.

The schema lives beside the measures (:mod:`sim.outputs.outcomes`) that compute it, so that the
executors below the experiments can name it; :mod:`sim.experiments.sweep.spec` builds the rest of
a sweep file on :class:`Closed` and re-exports these names.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Code = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,5}$")]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class Closed(BaseModel):
    """Base of the sweep schema: immutable, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Stat = Literal["mean", "median", "sd", "p5", "p95", "above", "below"]


class Outcome(Closed):
    """A named measure of a point, computed over its replicates.

    Per replicate the *quantity* is a power's (or a bloc's: several powers summed) share of a
    state's alignment or of the region, or the hedging index of a state or of the region, at a
    date (optionally as the change since the start). ``stat`` reduces it over replicates:
    ``mean`` (default), ``median``, ``sd``, ``p5``, ``p95``, or ``above``/``below`` with a
    ``threshold``: the share of replicates in which the quantity is above/below it. With
    ``effect`` the quantity is the paired difference between the scenario and the sweep's
    counterfactual at the same point (the same random numbers): what the policy changes.
    """

    quantity: Literal["share", "hedging"]
    power: Code | list[Code] | None = Field(default=None, description="a power, or a bloc")
    state: Code | Literal["region"] = "region"
    date: date | Literal["start", "end"] = "end"
    change: bool = Field(default=False, description="minus the quantity at the start")
    effect: bool = Field(
        default=False,
        description="minus the same quantity in the sweep's counterfactual at the same point, "
                    "replicate by replicate (a paired difference)")
    stat: Stat = "mean"
    threshold: Finite | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Outcome:
        if self.quantity == "share" and not self.power:
            raise ValueError("a share needs 'power': a power code or a list of codes (a bloc)")
        if self.quantity == "hedging" and self.power is not None:
            raise ValueError("hedging is over all powers; remove 'power'")
        if self.stat in ("above", "below") and self.threshold is None:
            raise ValueError(f"stat '{self.stat}' needs a 'threshold'")
        if self.stat not in ("above", "below") and self.threshold is not None:
            raise ValueError("'threshold' is only used with stat 'above' or 'below'")
        return self

    @property
    def powers(self) -> list[str]:
        if self.power is None:
            return []
        return [self.power] if isinstance(self.power, str) else list(self.power)
