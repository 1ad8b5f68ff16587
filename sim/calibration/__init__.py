"""Calibration to the historical record: priors, observation links, SMC, posteriors, hindcasts.
Imports sim.runs and below.
"""
