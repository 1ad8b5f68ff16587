"""Foundations every layer may use: errors, YAML reading, the calendar, provenance, shipped files,
child processes. Imports nothing else from sim.
"""
