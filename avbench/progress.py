"""One way to show progress for long tasks: a Rich bar on stderr."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from avbench.launch import process_rank
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[..., None]]:
    """Yield ``update(done, total, description=None)``; the bar appears on stderr and clears nothing else."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True, quiet=process_rank() != 0),  # data-parallel: rank 0 reports
                  transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, description: str | None = None) -> None:
            bar.update(task, completed=done, total=total,
                       **({"description": description} if description else {}))

        yield update
