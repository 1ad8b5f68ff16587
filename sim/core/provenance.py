"""The package's version and the git commit of the checkout it runs from: what ``sim
--version`` prints, light to import (it needs nothing else of the package)."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

#: The checkout this package is imported from, if it is (the folder above ``sim/``).
CHECKOUT = Path(__file__).resolve().parents[2]


@functools.cache
def source_commit(root: Path = CHECKOUT) -> str | None:
    """``root``'s git commit, with ``+ uncommitted changes`` if tracked files differ from it;
    None if ``root`` is not a git checkout (an installed package) or git cannot say."""
    if not (root / ".git").exists():
        return None

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    try:
        sha = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha} + uncommitted changes" if changed else sha


def version_line() -> str:
    """What ``sim --version`` prints: the package's version, and the commit of a checkout."""
    try:
        version = metadata.version("regional-alignment-sim")
    except metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    commit = source_commit()
    return f"sim {version}" + (f" (git {commit})" if commit else "")
