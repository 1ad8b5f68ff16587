"""What a run gives and how it is shown: results, outcome measures, terminal tables, figures,
reports. Imports the model and below.
"""
