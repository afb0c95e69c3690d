"""The ``avbench`` command line (Typer + Rich).

Every user-facing error is an :class:`~avbench.errors.AvbenchError` (or an unknown
name) printed as one message on stderr with its exit code: 2 for usage errors
and unknown names, 1 for data errors, 3 for parts not in this build.
"""

from __future__ import annotations

# isort: off
# The command modules, imported for their registrations, in the order `avbench --help` lists them.
from avbench.cli import listing, run, compare, models, fusion, bench, data, leaderboard, results  # noqa: F401
# isort: on
from avbench.cli.common import app, err, fail, out
from avbench.errors import AvbenchError
from avbench.registry import RegistryError, UnknownNameError

__all__ = ["app", "err", "main", "out"]


def main() -> None:
    """Console entry point: Typer handles usage errors; ours become one clean message."""
    try:
        app()
    except UnknownNameError as exc:
        raise SystemExit(fail(str(exc), 2).exit_code) from None
    except (AvbenchError, RegistryError) as exc:
        raise SystemExit(fail(str(exc), getattr(exc, "exit_code", 1)).exit_code) from None


if __name__ == "__main__":
    main()
