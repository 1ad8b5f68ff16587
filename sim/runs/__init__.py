"""Running the model many times: batches of patched scenarios, executors over worker processes,
checkpoints. Imports sim.outputs and below.
"""
