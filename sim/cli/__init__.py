"""The command-line program ``sim``: parse, call one library function, print.

Each command builds the library's request from its options, makes one call and prints what
comes back; the checks, the loading and the formatting are the library's. Library errors name
settings by their own names (``replicates``); :func:`main` names them as options
(``--replicates``).

One module per command (``sim.cli.run``, ``sim.cli.compare``, ...), each registering it on
the application of :mod:`sim.cli.program`; what they share is in :mod:`sim.cli.common`.
"""

from __future__ import annotations

from typing import Any

import typer

# isort: off
# The commands register in the order they are imported, which is their order in `sim --help`.
from sim.cli import run, validate, facts, compare, bench, sweep, policy  # noqa: F401
from sim.cli import calibrate, hindcast, report, view, explore, explain  # noqa: F401
# isort: on
from sim.cli.common import Terminated, exit_status, option_name
from sim.cli.program import app
from sim.core.errors import SettingError, SimError, machine_error

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: user errors (ours and the parser's) become one line on stderr, exit 2;
    what the machine refused (a full disk, a read-only folder, no memory left) one line
    saying so, exit 1."""
    import signal

    from sim.core.children import TERMINATED

    def terminated(signum: int, frame: object) -> None:
        TERMINATED.set()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up is under way
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)
    try:
        code: Any = app(standalone_mode=False)
    except SettingError as err:
        typer.echo(f"error: {err.describe(option_name)}", err=True)
        raise SystemExit(err.exit_code) from None
    except SimError as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(err.exit_code) from None
    except (OSError, MemoryError) as err:
        failure = machine_error(err)
        if failure is None:  # not the machine's doing: a bug, with its traceback
            raise
        typer.echo(f"error: {failure}", err=True)
        raise SystemExit(failure.exit_code) from None
    except (typer.Abort, KeyboardInterrupt) as err:
        typer.echo("interrupted: nothing half-written was kept", err=True)
        raise SystemExit(exit_status(err)) from None
    except typer.TyperException as err:  # the parser's: a bad option value, a missing argument
        text = err.format_message() if hasattr(err, "format_message") else str(err)
        typer.echo(f"error: {text}", err=True)
        raise SystemExit(getattr(err, "exit_code", 2)) from None
    raise SystemExit(code if isinstance(code, int) else 0)
