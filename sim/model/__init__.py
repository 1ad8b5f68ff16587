"""The model: its rules, random streams, kernel, engines, parameters built from a scenario, and the
Mesa model. Imports sim.scenario and sim.core.
"""
