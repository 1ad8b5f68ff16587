"""Imported last by a helpers' server: Ctrl-C's usual handler again (see
:mod:`sim.core.ignore_interrupts`)."""

import signal

signal.signal(signal.SIGINT, signal.default_int_handler)
