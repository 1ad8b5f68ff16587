"""Imported first by a helpers' server (:data:`sim.outputs.figures.PRELOAD`): Ctrl-C is ignored
while the server imports the figure code.

Ctrl-C reaches every process of the command's group. The server ignores it once it is serving
(``multiprocessing.forkserver`` does), but not while it imports what it preloads, seconds on a
busy machine, where it would print a traceback under the command's one-line message. The
command itself handles the Ctrl-C and stops its helpers. :mod:`sim.core.restore_interrupts`,
imported last, gives Ctrl-C back its usual handler before the server starts serving, so the
helpers it forks handle it as before.
"""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
