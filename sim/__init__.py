"""Scenario simulator of regional alignment.

Flow: YAML -> ``Scenario`` (validated, frozen) -> ``Params`` (arrays) -> Mesa model or
ensemble engine -> tidy tables -> summaries, plots.
"""

__version__ = "0.1.0"
