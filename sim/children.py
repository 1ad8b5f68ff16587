"""Child processes that end with the process that started them.

A helper process (a sweep's or calibration's worker, a figure-drawing helper) that waits for
its next piece of work would wait forever if its parent were killed with ``kill -9``, which
runs no clean-up, and would keep the fork server and the resource tracker alive with it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading


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

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
