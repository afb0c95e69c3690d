"""The command line, run as a user runs it: a subprocess in a temporary folder."""

from __future__ import annotations

import re

import pytest

from helpers import make_plugin_dist


def test_list_protocols_and_datasets(run_cli):
    r = run_cli("list", "protocols")
    assert r.returncode == 0, r.stderr
    for name in ("overall", "per_gen", "cross_gen", "clip_length", "multi_clip"):
        assert name in r.stdout
    r = run_cli("list", "datasets")
    assert "nvfair" in r.stdout and "avaprintdb" in r.stdout
    r = run_cli("list", "extractors")
    assert r.returncode == 0, r.stderr
    rows = {ln.split("│")[1].strip(): ln for ln in r.stdout.splitlines() if ln.count("│") >= 4}
    assert {"mediapipe", "face_alignment", "dataset"} <= set(rows)
    assert "478 points" in rows["mediapipe"] and "68 points" in rows["face_alignment"]
    assert "points as shipped" in rows["dataset"]


def test_unknown_method_exits_2_listing_names(run_cli, tmp_path):
    site = make_plugin_dist(tmp_path / "site", "toy", {"toy_plugin": TOY}, {"toy": "toy_plugin"})
    r = run_cli("run", "--method", "toy_methd", "--protocol", "overall", pythonpath=[site])
    assert r.returncode == 2
    assert "Unknown method 'toy_methd'." in r.stderr
    assert "Did you mean 'toy_method'?" in r.stderr
    available = next(ln for ln in r.stderr.splitlines() if ln.startswith("Available methods:"))
    assert "toy_method" in available and "f5c_featdiff" in available


def test_method_and_protocol_lists(run_cli, tmp_path):
    from avbench.cli.common import names as _names
    from avbench.errors import UsageError

    assert _names("all", ["a", "b"], "--method") == ["a", "b"]
    assert _names(" a, b ,", ["a", "b", "c"], "--method") == ["a", "b"]
    with pytest.raises(UsageError, match="--protocol is empty"):
        _names(" , ", ["a"], "--protocol")
    # Every name of a list is resolved before any training: a typo in the last one stops the run.
    site = make_plugin_dist(tmp_path / "site", "toy", {"toy_plugin": TOY}, {"toy": "toy_plugin"})
    r = run_cli("run", "--method", "toy_method,f5c_featdif", "--protocol", "overall", pythonpath=[site])
    assert r.returncode == 2 and "Unknown method 'f5c_featdif'" in r.stderr
    assert "pre-flight" not in r.stdout


def test_unknown_protocol_and_dataset_exit_2(run_cli, tmp_path):
    site = make_plugin_dist(tmp_path / "site", "toy", {"toy_plugin": TOY}, {"toy": "toy_plugin"})
    r = run_cli("run", "--method", "toy_method", "--protocol", "crossgen", pythonpath=[site])
    assert r.returncode == 2
    assert "Unknown protocol 'crossgen'." in r.stderr and "cross_gen" in r.stderr
    r = run_cli("run", "--method", "toy_method", "--protocol", "overall", "--data", "nvfiar:/x",
                pythonpath=[site])
    assert r.returncode == 2
    assert "Unknown dataset 'nvfiar'." in r.stderr and "Did you mean 'nvfair'?" in r.stderr
    r = run_cli("data", "index", "nvfair:")
    assert r.returncode == 2 and "must look like NAME:PATH" in r.stderr
    r = run_cli("data", "index", "nvfair")
    assert r.returncode == 1 and "nvfair needs the dataset folder: --data nvfair:PATH" in r.stderr


def test_failing_plugin_is_reported_and_others_work(run_cli, tmp_path):
    site = make_plugin_dist(tmp_path / "site", "broken", {"broken_plugin": "import not_installed_dep\n"},
                            {"broken": "broken_plugin"})
    r = run_cli("list", "protocols", pythonpath=[site])
    assert r.returncode == 0
    assert "plugin 'broken' (entry point broken = broken_plugin) failed to load" in r.stderr
    assert "No module named 'not_installed_dep'" in r.stderr
    assert "cross_gen" in r.stdout
    r = run_cli("list", "plugins", pythonpath=[site])
    assert "broken" in r.stdout and "failed: ModuleNotFoundError" in r.stdout


def test_data_index_prints_counts(run_cli, tiny_nvfair):
    r = run_cli("data", "index", f"nvfair:{tiny_nvfair}")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "identities per split" in out and "videos per generator" in out and "videos per source" in out
    # 6 files: 2 self, 3 cross (one in train), 1 original, and no skips
    rows = [re.split(r"\s*│\s*", ln.strip("│ ")) for ln in out.splitlines() if ln.startswith("│")]
    assert ["total", "2", "3", "1", "6"] in rows  # self, cross, original, total
    assert ["tps", "1", "1", "0", "2"] in rows
    assert ["test", "2", "2", "1", "5"] in rows  # videos per split
    assert ["train", "0", "1", "0", "1"] in rows
    assert ["test", "2", "2", "2"] in rows  # identities: listed, with videos, as target
    assert "skipped files: none" in out


def test_data_index_as_json(run_cli, tiny_nvfair):
    import json

    r = run_cli("data", "index", f"nvfair:{tiny_nvfair}", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["dataset"] == "nvfair" and got["videos"] == 6 and got["skipped"] == []
    assert {"split": "test", "self": 2, "cross": 2, "original": 1, "total": 5} in got["videos_per_split"]


def test_data_index_without_a_usable_video_exits_1(run_cli, tiny_nvfair):
    for video in tiny_nvfair.rglob("*.mp4"):
        video.write_bytes(b"")  # every file skipped as zero-byte
    r = run_cli("data", "index", f"nvfair:{tiny_nvfair}")
    assert r.returncode == 1
    assert f"{tiny_nvfair}: no usable video found for nvfair; `avbench data check" in r.stderr


def test_data_index_missing_folder_is_a_clear_error(run_cli, tmp_path):
    r = run_cli("data", "index", f"nvfair:{tmp_path / 'nope'}")
    assert r.returncode == 1
    assert f"NVFAIR root {tmp_path / 'nope'} is not a folder" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_device_and_profile_exit_2(run_cli, tmp_path, tiny_nvfair):
    site = make_plugin_dist(tmp_path / "site", "toy", {"toy_plugin": TOY}, {"toy": "toy_plugin"})
    base = ("run", "--method", "toy_method", "--protocol", "overall", "--data", f"nvfair:{tiny_nvfair}")
    r = run_cli(*base, "--device", "tpu", pythonpath=[site])
    assert r.returncode == 2 and "--device 'tpu'" in r.stderr
    r = run_cli(*base, "--profile", "huge", pythonpath=[site])
    assert r.returncode == 2 and "unknown profile 'huge'" in r.stderr and "quick" in r.stderr
    r = run_cli(*base, "--device", "cuda", pythonpath=[site])  # CI has no GPU
    assert r.returncode == 2 and "no CUDA device" in r.stderr


def test_bad_precision_override_and_devices_exit_2(run_cli, tiny_nvfair):
    base = ("run", "--method", "f5c_featdiff", "--protocol", "overall", "--device", "cpu",
            "--data", f"nvfair:{tiny_nvfair}")
    r = run_cli(*base, "--precision", "fp8")
    assert r.returncode == 2 and "--precision 'fp8'" in r.stderr and "64-true" in r.stderr
    r = run_cli(*base, "--set", "dropot=0")
    assert r.returncode == 2 and "--set dropot" in r.stderr and "dropout" in r.stderr
    r = run_cli(*base, "--set", "dropout")
    assert r.returncode == 2 and "expected KEY=VALUE" in r.stderr
    r = run_cli(*base, "--train", "epoch=3")
    assert r.returncode == 2 and "--train epoch" in r.stderr and "steps_per_epoch" in r.stderr
    r = run_cli(*base, "--train", "precision=fp8")
    assert r.returncode == 2 and "--precision 'fp8'" in r.stderr
    r = run_cli(*base, "--devices", "0")
    assert r.returncode == 2 and "--devices 0" in r.stderr
    r = run_cli("run", "--method", "f5c_featdiff,f5c_static", "--protocol", "overall", "--devices", "2")
    assert r.returncode == 2 and "one method under one protocol" in r.stderr


TOY = """
from avbench.hookspecs import hookimpl
from avbench.specs import InputKind, MethodSpec

@hookimpl
def avbench_register_methods():
    return [MethodSpec(name="toy_method", summary="toy", factory="toy_model:Toy",
                       input=InputKind.FRAMES)]
"""


def test_list_as_json(run_cli):
    import json

    r = run_cli("list", "methods", "--json")
    assert r.returncode == 0, r.stderr
    methods = {m["name"]: m for m in json.loads(r.stdout)}
    assert methods["f5c_featdiff"]["input"] == "frames" and methods["stgcn"]["input"] == "landmarks"
    r = run_cli("list", "protocols", "--json")
    assert {p["name"] for p in json.loads(r.stdout)} >= {"overall", "per_gen", "cross_gen", "clip_length"}


def test_piped_tables_are_never_cut(run_cli):
    """Outside a terminal a table row is one whole line: every summary ends as registered."""
    from avbench.registry import load_registry

    r = run_cli("list", "methods", env={"COLUMNS": ""})
    assert r.returncode == 0, r.stderr
    assert "…" not in r.stdout
    for spec in load_registry().methods:
        line = next(ln for ln in r.stdout.splitlines() if ln.startswith(f"│ {spec.name} "))
        assert spec.summary in line


def test_run_json_prints_only_the_rows_on_stdout(run_cli, tiny_synthetic, tmp_path):
    import json

    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "per_gen", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--db",
                str(tmp_path / "r" / "results.sqlite"), "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = json.loads(r.stdout)  # nothing but the JSON on stdout
    # outside a terminal, each finished epoch is one plain line on stderr
    assert re.search(r"^train all: epoch 1/\d+: loss [\d.]+, val AUC [\d.]+, lr .*clips/s, 0 skipped steps$",
                     r.stderr, re.M), r.stderr[-1500:]
    assert [row["test_group"] for row in rows] == ["all", "facevid2vid", "tps", "lia"]
    assert all(row["method"] == "f5c_featdiff" and row["profile"] == "smoke" and row["kind"] == "trained"
               and row["ci_low"] <= row["main_score"] <= row["ci_high"] for row in rows)


def test_set_is_checked_against_the_config_types_before_any_dataset_is_opened(run_cli, tmp_path):
    """A typo or a wrong type in --set fails in a second even where the data would take
    minutes to make (here: a dataset path that does not exist is never reached)."""
    base = ("run", "--method", "f5c_featdiff", "--protocol", "overall", "--device", "cpu",
            "--data", f"nvfair:{tmp_path / 'not-made-yet'}")
    r = run_cli(*base, "--set", "dropout=abc")
    assert r.returncode == 2 and "--set dropout='abc': expected float" in r.stderr
    r = run_cli(*base, "--set", "dropot=0.1")
    assert r.returncode == 2 and "--set dropot: method 'f5c_featdiff' has no such config option; " \
                                 "did you mean dropout?" in r.stderr
    r = run_cli(*base, "--set", "stem_widths=8")
    assert r.returncode == 2 and "--set stem_widths=8: expected tuple" in r.stderr
    r = run_cli(*base, "--extractor", "mediapipe")
    assert r.returncode == 2 and "method 'f5c_featdiff' reads raw frames" in r.stderr
    r = run_cli("run", "--method", "stgcn", "--protocol", "overall", "--device", "cpu",
                "--data", f"nvfair:{tmp_path / 'not-made-yet'}", "--extractor", "mediapip")
    assert r.returncode == 2 and "Did you mean 'mediapipe'?" in r.stderr


def test_set_values_are_coerced_to_the_config_types():
    from avbench.registry import load_registry
    from avbench.runner import _check_overrides

    spec = load_registry().methods.get("f5c_featdiff")
    got = _check_overrides(spec, {"dropout": 0, "stem_widths": [8, 16, 32, 64], "fusion": "true",
                                  "ccc": "edgeconv"})
    assert got == {"dropout": 0.0, "stem_widths": (8, 16, 32, 64), "fusion": True, "ccc": "edgeconv"}
    assert isinstance(got["dropout"], float)


def test_logger_csv_writes_fabric_metrics_beside_the_model(run_cli, tiny_synthetic, tmp_path):
    import pandas as pd

    db = tmp_path / "r" / "results.sqlite"
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--profile", "smoke",
                "--device", "cpu", "--data", f"synthetic:{tiny_synthetic}", "--db", str(db),
                "--logger", "csv")
    assert r.returncode == 0, r.stderr[-2000:]
    [metrics] = (tmp_path / "r" / "runs" / "models").rglob("logs/version_0/metrics.csv")
    logged = pd.read_csv(metrics)
    assert {"loss", "lr", "val_auc", "clips_per_s", "step"} <= set(logged.columns)
    assert (metrics.parents[2] / "history.csv").is_file()  # written either way
    bad = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--logger", "wandb",
                  "--data", f"nvfair:{tmp_path / 'nope'}")
    assert bad.returncode == 2 and "--logger 'wandb': choose one of none, csv, tensorboard" in bad.stderr


def test_a_bare_data_path_suggests_its_name_spec(run_cli, tiny_nvfair, tmp_path):
    r = run_cli("data", "index", str(tiny_nvfair))
    assert r.returncode == 2
    assert f"--data {tiny_nvfair}: a path needs its dataset's name in front, NAME:PATH; did you mean " \
           f"nvfair:{tiny_nvfair}?" in r.stderr
    r = run_cli("run", "--method", "f5c_featdiff", "--protocol", "overall", "--data", str(tmp_path))
    assert r.returncode == 2 and "a path needs its dataset's name in front" in r.stderr


def test_help_shows_no_type_placeholders_and_lists_choices(run_cli):
    for command in (["--help"], ["run", "--help"], ["evaluate", "--help"], ["bench", "--help"],
                    ["data", "prepare", "--help"], ["results", "list", "--help"],
                    ["leaderboard", "publish", "--help"], ["compare", "--help"]):
        r = run_cli(*command)
        assert r.returncode == 0, r.stderr
        for placeholder in ("<str>", "<int>", "<bool>", "<path>", "<float>"):
            assert placeholder not in r.stdout, (command, placeholder)
    text = " ".join(run_cli("run", "--help").stdout.split())
    for profile in ("auto", "standard", "paper", "quick", "smoke"):
        assert f"{profile} (" in text
    assert "--db DB" in text and "--seed SEED" in text and "none | csv | tensorboard" in text


def test_help_paragraphs_reflow_to_the_terminal_width(run_cli):
    r = run_cli("evaluate", "--help", env={"COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert ("The rows are evaluation-only: they name the run, dataset, protocol and cell the model was "
            "trained on. With another --data this is cross-dataset evaluation.") in r.stdout
