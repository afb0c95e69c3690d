"""What a board says about each method beside its numbers: size, input, budget, paper, code.

Result rows store a method's resolved config and training schedule but not its size, so
the number of parameters and the embedding size are read off the method built from its
stored config (:func:`avbench.runner.build_method`: no data, no training, a fraction of a
second), once per method and config.  A method whose plugin is not installed here, or whose
stored config no longer builds, shows "—" rather than stopping the board: its numbers are
still the stored ones.  The paper link comes from the citation registry
(:mod:`avbench.citations`), the code link from the spec's factory module in this repository.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from avbench import citations

DASH = "—"
# The board folders are published to ``leaderboards/<dataset>/`` at the repository root, so the
# repository's files are two folders up; only modules of this repository get a code link.
REPO_FROM_BOARD = "../../"
REPO_PACKAGES = {"avbench_methods": "methods", "avbench": "avbench"}


@dataclass(frozen=True)
class MethodFacts:
    """One method variant as a board describes it; empty or None where it is not known."""

    input_kind: str = ""
    parameters: int | None = None
    embedding_dim: int | None = None
    paper_url: str = ""
    code_path: str = ""        # relative to the repository root, e.g. methods/f5c.py

    @property
    def parameters_text(self) -> str:
        return DASH if self.parameters is None else _si(self.parameters)

    @property
    def embedding_text(self) -> str:
        return DASH if self.embedding_dim is None else str(self.embedding_dim)

    @property
    def input_text(self) -> str:
        return self.input_kind or DASH

    @property
    def code_url(self) -> str:
        return REPO_FROM_BOARD + self.code_path if self.code_path else ""


def _si(n: int) -> str:
    """12.3M, 845k, 950: parameters at a glance (the exact count is in results.json)."""
    if n >= 10**6:
        return f"{n / 10**6:.1f}M"
    if n >= 10**3:
        return f"{n / 10**3:.0f}k"
    return str(n)


# A link must stay one plain URL in an HTML attribute and in a Markdown link: no spaces,
# quotes, brackets or parentheses, whatever a plugin's spec or citation holds.
_PLAIN_URL = re.compile(r"[A-Za-z0-9._/:~-]+")


def paper_url(citation: str) -> str:
    """A link to a registered citation's paper: its arXiv page where it has an arXiv eprint
    (the registry stores no DOI); "" for free-text citations and papers without one."""
    if not citation or not citations.is_key(citation):
        return ""
    entry = citations.get(citation)
    if entry.eprint and entry.archiveprefix.lower() == "arxiv":
        url = f"https://arxiv.org/abs/{entry.eprint}"
        return url if _PLAIN_URL.fullmatch(url) else ""
    return ""


def code_path(factory) -> str:
    """The repository file of a spec's ``"module:attribute"`` factory, if it is this repository's."""
    if not isinstance(factory, str) or ":" not in factory:
        return ""
    module = factory.partition(":")[0].split(".")
    folder = REPO_PACKAGES.get(module[0])
    if folder is None or not all(part.isidentifier() for part in module):
        return ""
    return "/".join([folder, *module[1:]]) + ".py"


@lru_cache(maxsize=1)
def _registry():
    from avbench.registry import load_registry

    return load_registry()


@lru_cache(maxsize=None)
def _built(method: str, config_json: str) -> tuple[int | None, int | None]:
    """(parameters, embedding size) of ``method`` built from its stored config, or (None, None)."""
    from avbench.runner import build_method

    try:
        spec = _registry().methods.get(method)
        model = build_method(spec, json.loads(config_json))
    except Exception:  # a missing plugin or a config that no longer builds: the board shows "—"
        return None, None
    parameters = sum(p.numel() for p in model.parameters())
    embedding = getattr(getattr(model, "config", None), "embedding_dim", None)
    return int(parameters), int(embedding) if isinstance(embedding, int) else None


def method_facts(method: str, config: dict) -> MethodFacts:
    """The facts of ``method`` run with the stored ``config`` (a result row's ``config``)."""
    try:
        spec = _registry().methods.get(method)
    except Exception:  # not registered here (its plugin is not installed)
        return MethodFacts()
    stored = config.get("method") if isinstance(config, dict) else None
    parameters, embedding = _built(method, json.dumps(stored, sort_keys=True)) \
        if isinstance(stored, dict) else (None, None)
    return MethodFacts(input_kind=str(getattr(spec.input, "value", spec.input)), parameters=parameters,
                       embedding_dim=embedding, paper_url=paper_url(spec.citation),
                       code_path=code_path(spec.factory))


def budget_text(config: dict) -> str:
    """Training budget from the stored schedule: ``steps × clips per step`` (epochs ×
    steps_per_epoch, identities_per_batch × videos_per_identity); "—" where not stored."""
    training = config.get("training") if isinstance(config, dict) else None
    try:
        steps = int(training["epochs"]) * int(training["steps_per_epoch"])
        clips = int(training["identities_per_batch"]) * int(training["videos_per_identity"])
    except (TypeError, KeyError, ValueError):
        return DASH
    return f"{steps:,} × {clips}" if steps > 0 and clips > 0 and math.isfinite(steps) else DASH


FACT_COLUMNS = ("input_kind", "parameters", "embedding_dim", "training_budget", "paper_url", "code_path")


def with_method_facts(entries):
    """``entries`` with :data:`FACT_COLUMNS` (parameters and embedding size None where the
    method cannot be built here; the budget "—" where the schedule is not stored)."""
    entries = entries.copy()
    facts = [method_facts(m, c) for m, c in zip(entries["method"], entries["config"])]
    entries["input_kind"] = [f.input_kind for f in facts]
    entries["parameters"] = pd.Series([f.parameters for f in facts], index=entries.index, dtype=object)
    entries["embedding_dim"] = pd.Series([f.embedding_dim for f in facts], index=entries.index, dtype=object)
    entries["training_budget"] = [budget_text(c) for c in entries["config"]]
    entries["paper_url"] = [f.paper_url for f in facts]
    entries["code_path"] = [f.code_path for f in facts]
    return entries
