"""One way to show progress for long tasks: a Rich bar on stderr.

Outside a terminal (a log file, CI, a pipe) Rich draws no live bar and prints only
its final state when the task ends, so a long task would look hung.  There the
bar also prints a plain line at most every :data:`PLAIN_EVERY_S` seconds.

Descriptions, like everything avbench prints, go through :func:`plain_console`:
they carry user strings (method, stage and file names) that must show as they are.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from avbench.launch import process_rank

PLAIN_EVERY_S = 10.0


PIPE_WIDTH = 10_000  # columns of a console that is not a terminal


def plain_console(stderr: bool = False, **kwargs) -> Console:
    """A Rich console that prints every string as it is, for output full of user strings.

    Paths, file names, identities, method and config values and the error messages
    that quote them come from datasets, results folders and command lines, and are
    untrusted: with Rich's markup a file named ``1001--[bold red]x--1001.mp4`` would
    print as ``1001--x--1001.mp4`` and a folder named ``[/]`` would crash the command
    with a ``MarkupError``; with emoji codes ``:smile:`` in a name would be replaced.
    Both are off here, for plain strings, table cells and titles alike; styling is
    given explicitly as :class:`rich.text.Text` around the constant words only.
    """
    console = Console(stderr=stderr, markup=False, emoji=False, **kwargs)
    if not console.is_terminal and "width" not in kwargs and not os.environ.get("COLUMNS"):
        # A pipe or a file: nothing to fit, so a table row or a line is never wrapped or cut
        # (Rich would otherwise lay everything out for 80 columns and cut long paths).
        console.width = PIPE_WIDTH
    return console


def full_table(*headers: str, **kwargs) -> Table:
    """A Rich table whose cells fold onto more lines where a terminal is too narrow, instead of
    being cut with an ellipsis: a path, an identity or a confidence interval is always shown
    whole.  Titles start at the left edge: centred over a table as wide as its longest path, a
    short title in a pipe would be lost in a line of spaces."""
    table = Table(**{"title_justify": "left", **kwargs})
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yield ``update(done, total, description=None, line=None)``; the bar appears on stderr and
    clears nothing else.  ``line`` is printed once as a permanent line (above the bar in a
    terminal; at once, not throttled, outside one): a finished epoch's summary, say."""
    console = plain_console(stderr=True, quiet=process_rank() != 0)  # data-parallel: rank 0 reports
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)
        plain = None if console.is_interactive else _PlainLines(console, description)

        def update(done: int, total: int, description: str | None = None, line: str | None = None) -> None:
            bar.update(task, completed=done, total=total,
                       **({"description": description} if description else {}))
            if line:
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
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
