"""What every command module shares: the Typer apps, the two consoles, the plugin registry
of this invocation, and small helpers for options and tables."""

from __future__ import annotations

import warnings
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from avbench import __version__
from avbench.progress import full_table, plain_console
from avbench.registry import Registry, load_registry

_python_showwarning = warnings.showwarning


class _Typer(typer.Typer):
    """Typer, with help texts that show no type placeholders (see :func:`tidy_help`)."""

    def __call__(self, *args, **kwargs):
        command = typer.main.get_command(self)
        tidy_help(command)
        return command(*args, **kwargs)


def tidy_help(command) -> None:
    """Help that reads as a user types it: a flag shows no value placeholder (``--json``, not
    ``--json <bool>``), an option without a metavar shows its own name (``--db DB``, ``--seed
    SEED``) instead of a type (``<path>``, ``<int>``); options with fixed choices keep them listed
    in their help text; a docstring's paragraphs reflow to the terminal's width (Typer keeps the
    source's line breaks after the first paragraph)."""
    import inspect

    from typer.core import TyperArgument, TyperOption

    if command.help:
        command.help = "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n"))
                                   for p in inspect.cleandoc(command.help).split("\n\n"))

    for param in getattr(command, "params", ()):
        if isinstance(param, TyperArgument):  # its name says what it is: no type column
            param.display_type_rich = lambda ctx: None
            continue
        if not isinstance(param, TyperOption) or param.metavar is not None:
            continue
        if param.is_flag or getattr(param, "is_bool_flag", False):
            param.metavar = ""
        else:
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            param.metavar = long.lstrip("-").replace("-", "_").upper()
    original = command.get_help_option

    def help_option(ctx, _original=original):  # made anew for each help text
        option = _original(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


app = _Typer(help="avbench: benchmark harness for avatar fingerprinting (who drives this avatar?)",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = _Typer(help="Inspect datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")
leaderboard_app = _Typer(help="Publish leaderboards from the results database.", no_args_is_help=True)
app.add_typer(leaderboard_app, name="leaderboard")
results_app = _Typer(help="Work with results databases.", no_args_is_help=True)
app.add_typer(results_app, name="results")

# User strings (paths, file names, identities, method and config values, error messages
# quoting them) are printed as they are: markup is off on both consoles (see plain_console),
# and the few styled words are Text objects.
out = plain_console()
err = plain_console(stderr=True)


class State:
    extra_plugins: list[str] = []
    _registry: Registry | None = None

    @classmethod
    def registry(cls) -> Registry:
        if cls._registry is None:
            cls._registry = load_registry(cls.extra_plugins)
            for failure in cls._registry.failures:
                err.print(Text.assemble(("warning:", "yellow"), f" {failure}"), highlight=False)
        return cls._registry


def fail(message: str, code: int) -> typer.Exit:
    err.print(Text.assemble(("error:", "red"), f" {message}"), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"avbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    plugin: Annotated[Optional[list[str]], typer.Option("--plugin", "-p", metavar="MODULE",
                      help="Also register this importable module as a plugin (repeatable).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                       help="Print the version and exit.")] = False,
) -> None:
    State.extra_plugins = list(plugin or ())
    State._registry = None
    warnings.showwarning = _show_warning


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """avbench's own warnings (e.g. a resume under another thread count) as one plain
    ``warning:`` line; other libraries' warnings keep Python's format."""
    if category.__module__.startswith("avbench"):
        err.print(Text.assemble(("warning: ", "yellow"), str(message)))
    else:
        _python_showwarning(message, category, filename, lineno, file, line)


def landmark_table(summary: dict) -> Table:
    """Failure to acquire and extraction speed per generator, from a result's landmark summary."""
    table = full_table("generator", "videos", "frames", "no face", "failure rate", "extracted frames/s",
                  "skipped videos", title=f"landmarks: {summary['extractor']} (frames without a face "
                  f"filled by policy {summary['fill_policy']!r}; frames/s of this run's extraction, - if all cached)")
    for gen, r in summary["per_generator"].items():
        fps, rate = r["extracted_fps"], r["failure_rate"]
        table.add_row(gen, str(r["videos"]), str(r["frames"]), str(r["missing"]),
                      "-" if rate is None else f"{rate:.2%}", "-" if fps is None else f"{fps:.0f}",
                      str(r["skipped_videos"]))
    return table


def frame_table(df, title: str) -> Table:
    table = full_table(*[str(c) for c in df.columns], title=title)
    for row in df.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    return table


def names(given: str, choices: list[str], option: str) -> list[str]:
    """``--method a,b`` / ``--method all`` as a list of names (each checked by the registry)."""
    names = [n.strip() for n in given.split(",") if n.strip()]
    if not names:
        from avbench.errors import UsageError

        raise UsageError(f"{option} is empty; give a name, a comma-separated list, or 'all'")
    return list(choices) if names == ["all"] else names


def row_summary(row) -> dict:
    """A row as one line: what was measured, its main score and CI, and whether it trained."""
    m = row.metrics
    return {"id": row.id, "method": row.method, "protocol": row.protocol, "cell": row.cell,
            "test_group": row.test_group, "dataset": row.dataset, "seed": row.seed,
            "profile": row.profile, "clip_length": row.clip_length, "main_score": row.main_score,
            "ci_low": m.get("mean_target_auc_ci_low"), "ci_high": m.get("mean_target_auc_ci_high"),
            "kind": row_kind(row.trained_on), "created_at": row.created_at}


def row_kind(trained_on) -> str:
    """``trained`` (the run trained its model), ``evaluated`` (a saved model scored by
    ``avbench evaluate``) or ``fusion`` (``avbench fuse``)."""
    if trained_on is None:
        return "trained"
    return "fusion" if isinstance(trained_on, dict) and trained_on.get("kind") == "fusion" else "evaluated"
