"""User-facing errors: one base class, one line each.

Anything derived from :class:`SimError` is a mistake in the user's input or environment; the
command-line program prints it as a single line and exits with status 2. Any other exception
is a bug and keeps its traceback.
"""

from __future__ import annotations

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
