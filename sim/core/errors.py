"""User-facing errors: one base class, one line each.

Anything derived from :class:`SimError` is a mistake in the user's input (the command-line
program prints it as a single line and exits with status 2) or, as an
:class:`MachineError`, something the machine refused (a full disk, a read-only folder:
one line saying so, status 1). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator
from pathlib import Path


class SimError(Exception):
    """A user mistake the program reports in one line."""

    #: The command line's exit status for it.
    exit_code = 2


class MachineError(SimError):
    """The machine refused what a command needed: not a mistake in the input.

    The message names the file or folder, says what went wrong and that it is the machine's
    doing, then what was kept (``kept``), e.g. ``results/x: no space left on the device (the
    disk is full; an environment failure, not a mistake in the input); nothing was kept``.
    """

    exit_code = 1

    def __init__(self, path: Path | str, problem: str, kept: str = "") -> None:
        self.path, self.problem, self.kept = str(path), problem, kept
        text = f"{path}: {problem} (an environment failure, not a mistake in the input)"
        super().__init__(f"{text}; {kept}" if kept else text)


#: What each error number the machine may answer a read or write with means for the user.
ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "no space left on the device (the disk is full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EIO: "input/output error (a failing disk or a lost network drive)",
    errno.EMFILE: "too many open files",
    errno.ENFILE: "too many open files on the machine",
    errno.ENOMEM: "out of memory",
}


def machine_error(
    err: BaseException, where: Path | str | None = None, kept: str = ""
) -> MachineError | None:
    """The :class:`MachineError` an exception stands for, or None if it is not one.

    ``err`` is an :class:`OSError` with one of :data:`ENVIRONMENT_ERRNOS` or a
    :class:`MemoryError`, or a :class:`MachineError` to add ``kept`` to; the message names
    ``where`` (the folder being written), else the file the error names. Anything else is
    left to be handled (or to show its traceback, as a bug does).
    """
    if isinstance(err, MachineError):
        return MachineError(err.path, err.problem, kept or err.kept)
    if isinstance(err, MemoryError):
        return MachineError(where or "this process", "out of memory", kept)
    if not isinstance(err, OSError) or err.errno not in ENVIRONMENT_ERRNOS:
        return None
    path = where if where is not None else err.filename
    return MachineError(path or "a file", ENVIRONMENT_ERRNOS[err.errno], kept)


class ScenarioError(SimError):
    """A problem in a scenario, sweep or facts file, located by file and field path."""

    def __init__(self, path: Path | str, field: str, message: str) -> None:
        self.path = str(path)
        self.field = field
        self.message = message
        where = f"{path}: {field}: " if field else f"{path}: "
        super().__init__(f"{where}{message}")


class SettingError(SimError):
    """A bad value of one setting of a library call (a field of its request).

    The message speaks of the setting by its own name (``replicates: expected at least 1``);
    a front end may name it its own way (the command line's ``--replicates``) through
    :meth:`describe`. ``others`` are further settings the message ends with, named the same way.
    """

    def __init__(self, setting: str, message: str, *, others: tuple[str, ...] = ()) -> None:
        self.setting, self.message, self.others = setting, message, others
        super().__init__(self.describe())

    def describe(self, name: Callable[[str], str] = str) -> str:
        """The one-line message, with every setting named by ``name``."""
        text = f"{name(self.setting)}: {self.message}"
        if self.others:
            text += " " + ", ".join(name(o) for o in self.others)
        return text


@contextlib.contextmanager
def machine_failures(where: Path | str, kept: Callable[[], str] = str) -> Iterator[None]:
    """Report what the machine refuses inside the block as one :class:`MachineError`.

    The error names ``where`` (the folder being written) and ends with ``kept()``, called only
    then (it may clean up: e.g. remove a partial folder holding nothing worth keeping). Any
    other error passes through unchanged.
    """
    try:
        yield
    except (OSError, MemoryError) as err:
        failure = machine_error(err, where)
        if failure is None:
            raise
        raise MachineError(failure.path, failure.problem, kept()) from None
