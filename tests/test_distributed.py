"""Data-parallel training gives the single-process result (CPU gloo process groups).

The unit tests compare one forward/backward on 2 processes with 1 process on the same
global batch in float64, where the only differences left are summation order; the CLI
test trains a whole (smoke) run with ``--devices 2`` and compares the score file.
"""

from __future__ import annotations

import os
import socket
import sys
import sqlite3
import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from avbench.distributed import SumSyncBatchNorm, gather_batch, sync_batchnorm
from avbench.method import supervised_contrastive_loss
from avbench.scores import read_scores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(64, 8)).double()


def _batch():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(8, 1, 6, 6, generator=g, dtype=torch.float64)
    drivers = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    return x, drivers


def _loss(net: nn.Module, x, drivers):
    emb = nn.functional.normalize(net(x), dim=1)
    return supervised_contrastive_loss(emb, drivers)


def _grads(net: nn.Module) -> dict:
    return {n: p.grad.clone() for n, p in net.named_parameters()}


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        net = _net()
        x, drivers = _batch()
        net = sync_batchnorm(net, "cpu")
        ddp = nn.parallel.DistributedDataParallel(_LossModule(net))
        local = slice(4 * rank, 4 * rank + 4)
        loss = ddp(x[local], drivers[local])
        loss.backward()
        if rank == 0:
            torch.save({"loss": loss.item(), "grads": _grads(net),
                        "running_mean": net[1].running_mean.clone(), "kind": type(net[1]).__name__}, out)
        del ddp, loss
        dist.barrier()  # neither process tears gloo down while the other still talks to it
    finally:
        dist.destroy_process_group()
    # gloo's transport threads can still be joinable when the interpreter's C++ destructors
    # run, which aborts the process ("terminate called without an active exception") after
    # its work is done; the result is on disk, so leave without running them.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _LossModule(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, drivers):
        return _loss(self.net, x, drivers)


def test_two_processes_give_the_single_process_loss_gradients_and_statistics(tmp_path):
    net = _net()
    x, drivers = _batch()
    loss = _loss(net, x, drivers)
    loss.backward()
    out = tmp_path / "rank0.pt"
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=2)
    got = torch.load(out)
    assert got["kind"] == "SumSyncBatchNorm"
    assert got["loss"] == pytest.approx(loss.item(), abs=1e-12)  # the global loss, not a local one
    for name, grad in _grads(net).items():
        torch.testing.assert_close(got["grads"][name], grad, rtol=1e-9, atol=1e-12, msg=name)
    torch.testing.assert_close(got["running_mean"], net[1].running_mean, rtol=1e-9, atol=1e-12)


def test_outside_a_process_group_nothing_is_gathered_or_scaled():
    emb, labels = torch.randn(4, 3), torch.arange(4)
    e, lab, world = gather_batch(emb, labels)
    assert world == 1 and e is emb and lab is labels
    bn = SumSyncBatchNorm(3)
    x = torch.randn(5, 3, 2)
    torch.testing.assert_close(bn(x), nn.BatchNorm1d(3)(x))


def test_sync_batchnorm_converts_every_layer_and_keeps_state():
    net = nn.Sequential(nn.Conv1d(2, 3, 1), nn.BatchNorm1d(3), nn.Sequential(nn.BatchNorm3d(2)))
    net[1].running_mean.fill_(0.5)
    converted = sync_batchnorm(net, "cpu")
    assert converted is net
    assert [type(m).__name__ for m in net.modules() if "Norm" in type(m).__name__] == ["SumSyncBatchNorm"] * 2
    assert torch.all(net[1].running_mean == 0.5)


def _scores_and_env(db):
    con = sqlite3.connect(db)
    rows = con.execute("select score_file, environment from results").fetchall()
    con.close()
    assert len(rows) == 1  # rank 0 alone stores its row
    return read_scores(db.parent / rows[0][0]), json.loads(rows[0][1])


def test_cli_devices_2_trains_like_devices_1(run_cli, tiny_synthetic, tmp_path):
    """A whole smoke run, FP64 and without dropout (its masks are drawn per process)."""
    common = ["run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
              "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--precision", "64-true",
              "--set", "dropout=0"]
    results = {}
    for n in (1, 2):
        db = tmp_path / f"devices{n}" / "results.sqlite"
        r = run_cli(*common, "--devices", str(n), "--db", str(db))
        assert r.returncode == 0, r.stderr[-3000:]
        assert r.stdout.count("pre-flight ok") == 1  # the second process prints nothing
        words = " ".join(r.stdout.split())  # as printed, folded to the terminal's width
        assert words.count("note: the 'smoke' profile is too short to converge") == 1
        results[n] = _scores_and_env(db)
    (one, env1), (two, env2) = results[1], results[2]
    assert (env1["devices"], env2["devices"]) == (1, 2)
    assert list(one["a_path"]) == list(two["a_path"]) and len(one) > 50
    assert (one["score"] - two["score"]).abs().max() < 1e-6


def test_cli_devices_must_split_the_batch(run_cli, tiny_synthetic):
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--devices", "3")
    assert r.returncode != 0
    assert "--devices 3" in r.stderr and "batch of 4 clips" in r.stderr


@pytest.mark.gpu
def test_cli_devices_2_trains_like_devices_1_on_gpus(run_cli, tiny_synthetic, tmp_path):
    """The same on 2 GPUs (NCCL, torch's SyncBatchNorm): run with -m gpu on a 2-GPU machine."""
    if torch.cuda.device_count() < 2:
        pytest.skip("needs 2 CUDA devices")
    common = ["run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
              "--device", "cuda", "--data", f"synthetic:{tiny_synthetic}", "--precision", "64-true",
              "--set", "dropout=0"]
    scores = {}
    for n in (1, 2):
        db = tmp_path / f"devices{n}" / "results.sqlite"
        r = run_cli(*common, "--devices", str(n), "--db", str(db),
                    env={"CUBLAS_WORKSPACE_CONFIG": ":4096:8"})
        assert r.returncode == 0, r.stderr[-3000:]
        scores[n], env = _scores_and_env(db)
        assert env["devices"] == n
    assert (scores[1]["score"] - scores[2]["score"]).abs().max() < 1e-6


def test_a_finished_process_of_a_group_leaves_with_its_output_flushed_and_exit_code_0(tmp_path):
    """Data-parallel processes skip the exit-time teardown that can abort gloo (SIGABRT)."""
    import subprocess
    import sys

    script = (
        "import os, torch.distributed as dist\n"
        "from avbench.cli import out\nfrom avbench.cli.run import leave_process_group\n"
        "os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=os.environ['PORT'])\n"
        "leave_process_group()  # outside a group: returns\n"
        "dist.init_process_group('gloo', rank=0, world_size=1)\n"
        "out.print('stored, printed before leaving')\n"
        "leave_process_group()\n"
        "raise SystemExit(3)  # never reached\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PORT": str(_free_port())}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == "stored, printed before leaving\n"


@pytest.fixture(scope="module")
def seven_drivers(tmp_path_factory):
    """A 12-identity synthetic dataset with 7 training drivers: room for a batch twice the smoke
    profile's 2 drivers."""
    from avbench.synth.dataset import SynthConfig, synthesize

    path = tmp_path_factory.mktemp("seven-drivers") / "data"
    synthesize(SynthConfig(identities=12, self_per_generator=2, cross_per_generator=2,
                           min_frames=20, max_frames=24), path, workers=1)
    return path


def test_weak_scaling_gives_each_process_the_profiles_batch_and_the_square_root_learning_rate(seven_drivers):
    import math

    from avbench.config import get_profile
    from avbench.registry import load_registry
    from avbench.runner import RunRequest, plan_run

    smoke = get_profile("smoke")
    request = RunRequest(method="f5c_featdiff", protocol="overall", device="cpu", profile="smoke",
                         data=f"synthetic:{seven_drivers}", devices=2, scaling="weak")
    plan = plan_run(load_registry(), request)
    assert plan.training.identities_per_batch == 2 * smoke.identities_per_batch
    assert plan.training.videos_per_identity == smoke.videos_per_identity
    assert plan.training.batch_size == 2 * smoke.batch_size
    assert plan.training.lr == pytest.approx(smoke.lr * math.sqrt(2))
    assert plan.training.steps_per_epoch == smoke.steps_per_epoch  # the same steps, N x the clips
    assert request.command_args()[-2:] == ["--scaling", "weak"]
    strong = plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                                   profile="smoke", data=f"synthetic:{seven_drivers}",
                                                   devices=2))
    assert strong.training == smoke and "--scaling" not in strong.request.command_args()
    # --train applies after the scaling: it sets the final value.
    pinned = plan_run(load_registry(), RunRequest(
        method="f5c_featdiff", protocol="overall", device="cpu", profile="smoke",
        data=f"synthetic:{seven_drivers}", devices=2, scaling="weak", training_overrides={"lr": 0.01}))
    assert pinned.training.lr == 0.01 and pinned.training.identities_per_batch == 4


def test_weak_scaling_past_the_training_drivers_is_refused_before_training(seven_drivers):
    from avbench.errors import UsageError
    from avbench.registry import load_registry
    from avbench.runner import RunRequest, plan_run

    with pytest.raises(UsageError, match=r"--devices 8: a batch of cell 'all' asks for 16 drivers "
                                         r"\(--scaling weak .*\), but synthetic at .* has \d training drivers"):
        plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                             profile="smoke", data=f"synthetic:{seven_drivers}",
                                             devices=8, scaling="weak"))
    with pytest.raises(UsageError, match="--scaling 'wide': choose one of strong, weak"):
        plan_run(load_registry(), RunRequest(method="f5c_featdiff", protocol="overall", device="cpu",
                                             profile="smoke", data=f"synthetic:{seven_drivers}",
                                             scaling="wide"))


@pytest.mark.slow
def test_cli_weak_scaling_on_2_processes_trains_like_one_process_on_the_doubled_batch(
        run_cli, seven_drivers, tmp_path):
    """Weak scaling is data-parallel training of the larger batch: 2 processes with 4 clips each
    store the scores of 1 process on the 8-clip batch with the scaled learning rate."""
    import math

    common = ["run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
              "--device", "cpu", "--data", f"synthetic:{seven_drivers}", "--precision", "64-true",
              "--set", "dropout=0"]
    weak = tmp_path / "weak" / "results.sqlite"
    r = run_cli(*common, "--devices", "2", "--scaling", "weak", "--db", str(weak))
    assert r.returncode == 0, r.stderr[-3000:]
    one = tmp_path / "one" / "results.sqlite"
    r = run_cli(*common, "--train", "identities_per_batch=4", "--train", f"lr={1e-3 * math.sqrt(2)!r}",
                "--db", str(one))
    assert r.returncode == 0, r.stderr[-3000:]
    (two, env2), (single, _) = _scores_and_env(weak), _scores_and_env(one)
    assert env2["devices"] == 2
    assert list(two["a_path"]) == list(single["a_path"]) and len(two) > 50
    assert (two["score"] - single["score"]).abs().max() < 1e-6
