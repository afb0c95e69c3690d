"""One way to show progress for long tasks: a Rich bar on stderr.

Outside a terminal (a log file, CI, a pipe) Rich draws no live bar and prints only
its final state when the task ends, so a long task would look hung.  There the
bar also prints a plain line at most every :data:`PLAIN_EVERY_S` seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from avbench.launch import process_rank
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PLAIN_EVERY_S = 10.0


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yield ``update(done, total, description=None)``; the bar appears on stderr and clears nothing else."""
    console = Console(stderr=True, quiet=process_rank() != 0)  # data-parallel: rank 0 reports
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)
        plain = None if console.is_interactive else _PlainLines(console, description)

        def update(done: int, total: int, description: str | None = None) -> None:
            bar.update(task, completed=done, total=total,
                       **({"description": description} if description else {}))
            if plain is not None:
                plain.update(done, total, description)

        yield update


class _PlainLines:
    """Periodic ``description: done/total (pct), elapsed`` lines for a console that is not
    a terminal; quiet consoles (other ranks) print nothing, as for the bar."""

    def __init__(self, console: Console, description: str):
        self.console, self.description, self.every_s = console, description, PLAIN_EVERY_S
        self.start = self.last = time.monotonic()

    def update(self, done: int, total: int, description: str | None = None) -> None:
        self.description = description or self.description
        now = time.monotonic()
        if now - self.last < self.every_s:
            return
        self.last = now
        share = f" ({100 * done / total:.0f} %)" if total else ""
        self.console.print(f"{self.description}: {done}/{total}{share}, {now - self.start:.0f} s",
                           markup=False, highlight=False, soft_wrap=True)
