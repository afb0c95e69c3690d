"""Leaderboards, rendered only from the results store and its score files.

One way through, each step its own module:

* :mod:`~avbench.leaderboard.entries` -- stored rows → *entries* (one number per
  method variant and evaluation, seeds averaged);
* :mod:`~avbench.leaderboard.reported` -- published figures shipped as data;
* :mod:`~avbench.leaderboard.compare` -- paired-bootstrap method differences, and measured
  against reported figures on the same statistic;
* :mod:`~avbench.leaderboard.figures` -- ROC/DET, per-target AUC, clip-length curves;
* :mod:`~avbench.leaderboard.board` -- a dataset's board as data;
* :mod:`~avbench.leaderboard.render` -- HTML, Markdown, JSON and CSV files;
* :mod:`~avbench.leaderboard.publish` -- ``avbench leaderboard publish``.
"""
