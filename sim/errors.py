"""User-facing errors: one base class, one line each.

Anything derived from :class:`SimError` is a mistake in the user's input or environment; the
command-line program prints it as a single line and exits with status 2. Any other exception
is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class SimError(Exception):
    """A user mistake the program reports in one line."""


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
