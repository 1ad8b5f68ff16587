"""Scenarios as described: the YAML schema, the facts registry, events and units. Imports only
sim.core.
"""
