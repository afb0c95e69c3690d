"""Exceptions that the CLI turns into one clear message (no traceback)."""


class AvbenchError(Exception):
    """Base of errors a user can act on; the message says what to do."""

    exit_code = 1


class DatasetError(AvbenchError):
    """A dataset tree, split file or data spec is wrong; the message names the file."""


class UsageError(AvbenchError):
    """A bad option value or unknown name on the command line."""

    exit_code = 2


class NotAvailableError(AvbenchError):
    """A part of the pipeline this build of avbench does not have yet."""

    exit_code = 3


class PluginError(AvbenchError):
    """Code from a plugin (a method's model or loss) raised; the message names the plugin."""


class Interrupted(AvbenchError):
    """Ctrl-C (SIGINT) during a run: what was saved, and how to go on."""

    exit_code = 130  # the shell's code for a SIGINT death, so scripts see an interruption


class TrainingError(AvbenchError):
    """Training cannot go on (e.g. the loss stays non-finite); the message says what to try."""


class CheckpointError(AvbenchError):
    """A saved model (weights or sidecar) is missing, damaged, or does not match the installed
    method; the message names the file and says what to do."""
