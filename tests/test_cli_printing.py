"""User strings (paths, file names, method names, error messages) print as they are: Rich markup
and emoji codes in them are shown, never interpreted, and never crash a command."""

from __future__ import annotations

import shutil

from avbench.progress import progress_bar
from helpers import make_plugin_dist

HIDDEN = "1001--[bold red]hidden--1001.mp4"


def _marked_tree(tiny_nvfair, tmp_path):
    """tiny_nvfair moved to a path holding a stray closing tag (folders ``disk [`` and ``] two``),
    plus an empty file whose name holds a markup tag (listed by name in data index and data check)."""
    root = tmp_path / "disk [/] two" / "NVFAIR-v2-release"
    root.parent.mkdir(parents=True)
    shutil.move(tiny_nvfair, root)
    (root / "CREMA-D/tps-generated/1001").mkdir()
    (root / "CREMA-D/tps-generated/1001" / HIDDEN).write_bytes(b"")
    return root


def test_data_check_prints_marked_up_names_as_they_are(run_cli, tiny_nvfair, tmp_path):
    root = _marked_tree(tiny_nvfair, tmp_path)
    r = run_cli("data", "check", f"nvfair:{root.parent}", "--clip-length", "8", env={"COLUMNS": "400"})
    assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr, r.stderr[-2000:]
    assert r.returncode == 1  # the empty file is a problem to fix
    title = " ".join(r.stdout.split())  # the table's title wraps to the table's width
    assert f"data check: nvfair at {root}: 5 of 5 generated videos usable" in title
    assert r.stdout.startswith("data check: "), r.stdout[:200]  # at the left edge, not centred
    assert f"CREMA-D/tps-generated/1001/{HIDDEN}: empty file (0 bytes)" in r.stdout


def test_data_index_prints_marked_up_names_as_they_are(run_cli, tiny_nvfair, tmp_path):
    root = _marked_tree(tiny_nvfair, tmp_path)
    r = run_cli("data", "index", f"nvfair:{root.parent}", env={"COLUMNS": "400"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"indexing nvfair:{root.parent} ..." in r.stderr
    assert f"nvfair at {root}  (fingerprint " in r.stdout
    assert f"CREMA-D/tps-generated/1001/{HIDDEN}: empty file (0 bytes)" in r.stdout


def test_error_messages_print_paths_and_names_as_they_are(run_cli, tmp_path):
    gone = tmp_path / "[bold]gone[/] :smile:"
    r = run_cli("data", "index", f"nvfair:{gone}")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert f"error: NVFAIR root {gone} is not a folder" in r.stderr
    r = run_cli("data", "index", "nvfair:[/]")
    assert r.returncode == 1 and "error: NVFAIR root [/] is not a folder" in r.stderr, r.stderr[-2000:]
    r = run_cli("run", "--method", "[red]f5c:smile:", "--protocol", "overall")
    assert r.returncode == 2 and "Unknown method '[red]f5c:smile:'." in r.stderr, r.stderr[-2000:]


def test_progress_descriptions_print_as_they_are(capsys):
    with progress_bar("decoding [/]x [bold]y[/] :smile:") as update:
        update(1, 2)
    with progress_bar("frames") as update:
        update(1, 2, description="stage [red]z[/]")
    err = capsys.readouterr().err
    assert "decoding [/]x [bold]y[/] :smile:" in err
    assert "stage [red]z[/]" in err


def test_plugin_load_errors_print_as_they_are(run_cli, tmp_path):
    site = make_plugin_dist(tmp_path / "site", "odd", {"odd_plugin": 'raise ImportError("needs [bold]cuda[/] [/]")\n'},
                            {"odd": "odd_plugin"})
    r = run_cli("list", "plugins", pythonpath=[site])
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "warning: plugin 'odd' (entry point odd = odd_plugin) failed to load" in r.stderr
    assert "needs [bold]cuda[/] [/]" in r.stderr
    assert "failed: ImportError" in r.stdout
