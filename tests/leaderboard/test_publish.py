"""``publish``: one static board per dataset, from the store only, the same files every time."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from conftest import add_result, unlinked

from avbench.errors import UsageError
from avbench.leaderboard.publish import MissingScoreFile, WouldDropResults, publish
from avbench.results import ResultsStore

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_every_dataset_gets_a_complete_board(published):
    for dataset in ("synthetic", "nvfair"):
        board = published / dataset
        for name in ("index.html", "README.md", "results.json", "results.csv", "assets/board.js",
                     "assets/board.css"):
            assert (board / name).is_file(), name
    figures = sorted(p.name for p in (published / "synthetic" / "figures").iterdir())
    assert figures == sorted(f"{s}-v1-fp-synth-{kind}.png" for s, kind in (
        ("overall", "roc-det"), ("overall", "target-auc"), ("per_gen", "roc-det"),
        ("per_gen", "target-auc"), ("clip_length", "clip-length")))
    for png in (published / "synthetic" / "figures").iterdir():
        data = png.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    root = (published / "README.md").read_text()
    assert "[synthetic](synthetic/README.md)" in root and "[nvfair](nvfair/README.md)" in root


def test_machine_readable_results(published, board_store):
    payload = json.loads((published / "synthetic" / "results.json").read_text())
    assert len(payload["measured"]) == 37 and payload["reported"] == []
    featdiff = next(e for e in payload["measured"]
                    if e["method"] == "f5c_featdiff" and e["protocol"] == "overall")
    assert featdiff["seeds"] == [0, 1, 2] and featdiff["config"]["profile"] == "standard"
    assert featdiff["git_commits"] == ["0123456789abcdef0123456789abcdef01234567"]
    assert payload["comparisons"]["against"] == "f5c_featdiff" and len(payload["comparisons"]["rows"]) == 15
    csv = pd.read_csv(published / "nvfair" / "results.csv")
    assert csv["kind"].value_counts().to_dict() == {"reported": 83, "measured": 1}
    measured = csv[csv["kind"] == "measured"].iloc[0]
    stored = next(r for r in board_store.rows(dataset="nvfair"))
    assert measured["mean_target_auc"] == pytest.approx(stored.main_score, abs=1e-6)
    assert measured["delta_reported"] == pytest.approx(stored.main_score - 0.877, abs=1e-6)
    assert measured["reported_table"] == "III" and measured["reported_statistic"] == "mean_target_auc"
    reported = csv[csv["kind"] == "reported"]
    # Each reported value sits in the column of its statistic, the other one empty.
    assert reported.groupby("statistic").size().to_dict() == {"mean_target_auc": 56, "pooled_auc": 27}
    pooled = reported[reported["statistic"] == "pooled_auc"]
    assert pooled["mean_target_auc"].isna().all() and pooled["pooled_auc"].notna().all()
    assert set(pooled["protocol"]) == {"cross_gen"}


def test_markdown_shows_cis_seeds_and_reported_differences(published, board_store):
    synth = unlinked((published / "synthetic" / "README.md").read_text())
    line = next(ln for ln in synth.splitlines()
                if ln.startswith("| 1 | f5c_featdiff | measured | mean per-target AUC | standard | 16 | frames | — | — | — | 0, 1, 2 |"))
    assert " ± " in line and "(seeds 0, 1, 2)" in line
    # AUC, pooled AUC and EER each with its CI; TAR@FAR=1 % withheld (64 negative pairs per seed)
    assert line.count("[") == 3 and "| — (64 negatives) |" in line
    assert "## cross_gen (protocol v1)" in synth and "facevid2vid → lia" in synth
    nvfair = unlinked((published / "nvfair" / "README.md").read_text())
    main = next(r for r in board_store.rows(dataset="nvfair")).main_score
    assert f"Δ {main - 0.877:+.3f} vs reported (Table III)" in nvfair
    assert "| nvfair_ldmk_tcnn | reported | pooled AUC |" in nvfair and "## cross_gen (reported only)" in nvfair
    assert "## overall_originals (protocol v1)" in nvfair and "## per_gen_originals (reported only)" in nvfair
    html = (published / "nvfair" / "index.html").read_text()
    assert 'class="badge">reported<' in html and "Prashnani" in html


def test_publishing_twice_writes_identical_files(board_store, published, tmp_path):
    publish(board_store, tmp_path)

    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    assert digest(tmp_path) == digest(published)


def test_missing_score_file_and_unknown_dataset_are_clear_errors(tmp_path):
    store = ResultsStore(tmp_path / "r" / "results.sqlite")
    row = add_result(store, "f5c_featdiff", "overall", "all", "all", 1.0)
    with pytest.raises(UsageError, match="dataset.s. avaprintdb .*can be published for: nvfair, synthetic"):
        publish(store, tmp_path / "out", datasets=["avaprintdb"])
    store.resolve(row.score_file).unlink()
    with pytest.raises(MissingScoreFile, match=r"1 of 1 stored results have no score file: .*scores-all.parquet"):
        publish(store, tmp_path / "out")


def test_root_index_links_the_publishers_reproduce_notes(board_store, tmp_path):
    publish(board_store, tmp_path, datasets=["nvfair"])
    assert "REPRODUCE.md" not in (tmp_path / "README.md").read_text()
    (tmp_path / "REPRODUCE.md").write_text("how\n")
    publish(board_store, tmp_path, datasets=["nvfair"])
    assert "[REPRODUCE.md](REPRODUCE.md)" in (tmp_path / "README.md").read_text()
    assert (tmp_path / "REPRODUCE.md").read_text() == "how\n"  # never overwritten


def test_a_board_from_another_database_is_not_overwritten(board_store, tmp_path):
    out = tmp_path / "boards"
    publish(board_store, out, datasets=["synthetic"])
    other = ResultsStore(tmp_path / "other" / "results.sqlite")
    add_result(other, "f5c_static", "overall", "all", "all", 0.3)
    # 39 run keys on the board (37 entries, one of 3 seeds); the other database holds 1 of them.
    with pytest.raises(WouldDropResults, match=r"boards/synthetic shows 38 result\(s\) that .*other/results.sqlite "
                       "does not hold .*pass --replace"):
        publish(other, out, datasets=["synthetic"])
    assert len(json.loads((out / "synthetic" / "results.json").read_text())["measured"]) == 37
    publish(other, out, datasets=["synthetic"], replace=True)
    assert len(json.loads((out / "synthetic" / "results.json").read_text())["measured"]) == 1
    # A database that grew (more results, the old ones kept) republishes without --replace.
    add_result(other, "stgcn", "overall", "all", "all", 0.3)
    publish(other, out, datasets=["synthetic"])
    assert len(json.loads((out / "synthetic" / "results.json").read_text())["measured"]) == 2


def test_one_generator_order_on_every_board(published):
    synth = unlinked((published / "synthetic" / "README.md").read_text())
    nvfair = unlinked((published / "nvfair" / "README.md").read_text())
    # per_gen measured here and per_gen_originals reported by the paper: the same column order
    assert "| all | facevid2vid | tps | lia | provenance |" in synth
    assert "| all | facevid2vid | tps | lia | provenance |" in nvfair
    # a cross-generator section is read row by row of its matrix, measured or reported
    row_major = ("| facevid2vid → facevid2vid | facevid2vid → tps | facevid2vid → lia | tps → facevid2vid "
                 "| tps → tps | tps → lia | lia → facevid2vid | lia → tps | lia → lia | provenance |")
    assert row_major in synth and row_major in nvfair


def test_columns_follow_the_generator_order_whatever_the_run_order():
    from avbench.leaderboard.board import eval_order

    shuffled = [("train_lia", "tps"), ("T32", "all"), ("all", "lia"), ("train_tps", "facevid2vid"),
                ("all", "all"), ("T128", "all"), ("train_facevid2vid", "lia"), ("T16", "tps"),
                ("all", "facevid2vid"), ("train_lia", "lia"), ("mine", "x"), ("T16", "all")]
    assert sorted(shuffled, key=lambda ct: eval_order(*ct)) == [
        ("all", "all"), ("all", "facevid2vid"), ("all", "lia"), ("train_facevid2vid", "lia"),
        ("train_tps", "facevid2vid"), ("train_lia", "tps"), ("train_lia", "lia"), ("T16", "all"),
        ("T16", "tps"), ("T32", "all"), ("T128", "all"), ("mine", "x")]


def test_matrices_are_shown_once_as_tables(published):
    synth = unlinked((published / "synthetic" / "README.md").read_text())
    html = (published / "synthetic" / "index.html").read_text()
    # cross_gen: one train x test table per model, in HTML and Markdown, and no picture of it
    assert synth.count("| train \\\\ test | facevid2vid | tps | lia |") == 2
    assert html.count('<table class="heatmap">') == 2 + 1  # + the clip-length matrix
    assert not list((published / "synthetic" / "figures").glob("*heatmap*"))
    # clip_length: T x method beside the curve
    assert "| T \\\\ method | f5c_featdiff |" in synth
    rows = [line for line in synth.splitlines() if line.startswith("| T = ")]
    assert [r.split("|")[1].strip() for r in rows] == ["T = 16", "T = 32", "T = 64", "T = 128"]
    assert "<th>T \\ method</th>" in html
