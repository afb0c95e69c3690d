"""Independent protocol cells trained at the same time, one process per GPU.

The 3 cross-generator trainings or the 4 clip lengths share nothing but the dataset,
so ``avbench run --jobs N`` runs each cell as its own ``avbench run --cell NAME``
process, pinned to one GPU through ``CUDA_VISIBLE_DEVICES`` (on CPUs, the cores are
shared out).  Each process stores its rows in the common results database exactly as
a sequential run would (the store takes concurrent writers); afterwards the calling
command reads them back like reused cells.  Each job's output goes to a log file,
named in the error if the job fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from avbench.errors import AvbenchError
from avbench.runner import RunPlan, RunRequest


@dataclass(frozen=True)
class Job:
    cell: str
    argv: list[str]
    log: Path


def request_argv(request: RunRequest, db: Path, force: bool, plugins: list[str]) -> list[str]:
    """The ``avbench run`` command line that repeats ``request`` (without its cell choice)."""
    argv = [sys.executable, "-m", "avbench"]
    for module in plugins:
        argv += ["--plugin", module]
    argv += [*request.command_args(), "--db", str(db)]
    if force:
        argv.append("--force")
    return argv


def cell_jobs(plan: RunPlan, db: Path, force: bool, plugins: list[str], log_dir: Path) -> list[Job]:
    base = request_argv(plan.request, db, force, plugins)
    return [Job(cell.name, [*base, "--cell", cell.name],
                log_dir / f"{plan.method.name}-{plan.protocol.name}-{cell.name}-{plan.request.seed}.log")
            for cell in plan.cells]


def slots(jobs: int, devices_per_job: int, gpus: int) -> list[dict[str, str]]:
    """The environment of each of ``jobs`` concurrent processes: its own GPUs when there are
    GPUs, an equal share of the cores either way (unless ``OMP_NUM_THREADS`` is set)."""
    if gpus and jobs * devices_per_job > gpus:
        raise AvbenchError(f"--jobs {jobs} x --devices {devices_per_job} needs {jobs * devices_per_job} "
                           f"GPUs; torch sees {gpus}")
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // jobs))  # the user's wins
    envs = []
    for k in range(jobs):
        env = {"OMP_NUM_THREADS": threads}
        if gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(k * devices_per_job + i) for i in range(devices_per_job))
        envs.append(env)
    return envs


def run_jobs(jobs: list[Job], envs: list[dict[str, str]],
             progress: Callable[[int, int, str], None] | None = None) -> None:
    """Run ``jobs``, at most one per slot at a time, each starting as soon as a slot frees up;
    once all have ended, fail with the log of every job that failed."""
    queue, free = list(jobs), list(range(len(envs)))
    running: list[tuple[Job, int, object, subprocess.Popen]] = []
    failed, done = [], 0
    while queue or running:
        while queue and free:
            job, slot = queue.pop(0), free.pop(0)
            job.log.parent.mkdir(parents=True, exist_ok=True)
            fh = job.log.open("w")
            running.append((job, slot, fh, subprocess.Popen(job.argv, stdout=fh, stderr=subprocess.STDOUT,
                                                            env={**os.environ, **envs[slot]})))
        for item in list(running):
            job, slot, fh, proc = item
            if proc.poll() is None:
                continue
            fh.close()
            running.remove(item)
            free.append(slot)
            done += 1
            if proc.returncode:
                failed.append((job, proc.returncode))
            if progress:
                progress(done, len(jobs), f"{done} of {len(jobs)} cells done (last: {job.cell})")
        time.sleep(0.1)
    if failed:
        raise AvbenchError("; ".join(
            f"cell {job.cell} failed (exit {code}); its log {job.log} ends with:\n{_tail(job.log)}"
            for job, code in failed))


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
