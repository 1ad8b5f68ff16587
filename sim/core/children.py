"""Child processes that end with the process that started them.

A helper process (a sweep's or calibration's worker, a figure-drawing helper) that waits for
its next piece of work would wait forever if its parent were killed with ``kill -9``, which
runs no clean-up, and would keep the fork server and the resource tracker alive with it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading

#: Set when this process received SIGTERM (``kill``, a timeout): the interruption it causes
#: is handled as Ctrl-C's, and the command line exits with status 143 instead of 130.
TERMINATED = threading.Event()


def exit_with_parent() -> None:
    """Exit this process (a helper) as soon as the process that started it ends.

    The parent holds one end of a pipe whose other end is the helper's sentinel
    (``multiprocessing.parent_process().sentinel``); the kernel closes it when the parent ends
    in any way, which wakes a thread that then ends the helper at once. Nothing a helper holds
    needs cleaning up: what it makes is written by the parent, which is gone.
    """
    parent = mp.parent_process()
    if parent is None:  # not a child process of multiprocessing
        return
    # Ctrl-C reaches every process of the terminal's group: the parent alone answers it (one
    # line on what was kept) and stops its helpers; a helper would print its own traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
