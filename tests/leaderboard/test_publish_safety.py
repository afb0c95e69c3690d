"""``publish`` with untrusted input: hostile values in a shared database, folders it does not own,
dataset names that are paths, and a publish killed half way.

A results database travels between people (copied from a GPU machine, committed to a
repository), so every string in it is untrusted; ``--out`` may point at a folder that holds other
files.  The board must show hostile values as text, and publish must write only inside the board
folder it made, all of a board or none of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import add_result, score_table

from avbench.leaderboard.publish import (
    MARKER,
    BadDatasetName,
    NotABoardFolder,
    publish,
)
from avbench.metrics import summarize
from avbench.results import ResultRow, ResultsStore
from avbench.scores import write_scores

# One value that tries every way out: close the <pre>, open a tag with a handler, break out of a
# double- and a single-quoted attribute, end a Markdown table cell, add a Markdown link, start a
# new Markdown line.
HOSTILE = ("</pre><img src=x onerror=alert(1)>\"><script>alert(2)</script>' onmouseover='alert(3)"
           " | [md](http://evil.example) `code`\n# heading")
# The tags and scripts a board legitimately has; anything else came from a value.
BOARD_TAGS = {"html", "head", "meta", "title", "link", "body", "header", "h1", "h2", "p", "code", "a",
              "span", "nav", "main", "section", "div", "table", "thead", "tbody", "tr", "th", "td",
              "details", "summary", "dl", "dt", "dd", "pre", "caption", "figure", "img", "figcaption",
              "ul", "li", "b", "script", "label", "input"}


def hostile_row(store: ResultsStore, method: str, shift: float, value: str = HOSTILE,
                dataset: str = "synthetic") -> ResultRow:
    """A stored row whose every string the board shows is ``value`` (method aside)."""
    scores = score_table(shift, 7)
    path = store.path.parent / "runs" / f"{method}-{len(store.all())}" / "scores.parquet"
    write_scores(path, scores)
    metrics = summarize(scores, n_boot=200, seed=0)
    return store.add(ResultRow(
        method=method, protocol=value, protocol_version=value, cell=f"train_{value}",
        test_group=value, dataset=dataset, dataset_fingerprint=value, seed=0, metrics=metrics,
        main_score=metrics["mean_target_auc"], train_generators=(value,), test_generators=(value,),
        clip_length=16, profile=value, avbench_version=value, git_commit=value, device=value,
        created_at=value, score_file=store.relative(path),
        config={"method": {"name": method, "tag": value}, "command": value, "profile": value}))


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every <script> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_script:
            self.script_text += data


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_only_the_boards_own_markup(page: Path) -> _Tags:
    html = page.read_text()
    tags = parse(html)
    names = {t for t, _ in tags.tags}
    assert names <= BOARD_TAGS, f"{page}: tags {names - BOARD_TAGS} came from stored values"
    for tag, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], f"{page}: event handler in <{tag} {attrs}>"
        if tag == "input":  # the comparisons filter, the board's only form field
            assert attrs.get("class") == "table-filter" and attrs.get("type") == "search", attrs
        if tag == "img":
            assert attrs["src"].startswith("figures/") and attrs["src"].endswith(".png"), attrs
        if tag == "script":
            assert attrs == {"src": "assets/board.js"}, attrs
    assert tags.script_text == ""
    for raw in ("<img src=x", "<script>alert", "onerror=alert", "onmouseover='alert"):
        assert not re.search(re.escape(raw), html.replace("&lt;img src=x onerror=alert", "")
                             .replace("&lt;script&gt;alert", "").replace("onmouseover=&#39;alert", "")), raw
    return tags


@pytest.fixture(scope="module")
def hostile_boards(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    store = ResultsStore(root / "results" / "results.sqlite")
    hostile_row(store, "f5c_featdiff", 1.5)
    hostile_row(store, HOSTILE, 0.5)
    out = root / "boards"
    publish(store, out, datasets=["synthetic"])
    return out


def test_hostile_values_show_as_text_in_the_board_page(hostile_boards):
    page = hostile_boards / "synthetic" / "index.html"
    tags = assert_only_the_boards_own_markup(page)
    html = page.read_text()
    assert "&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in html
    text = "".join(tags.text)
    # Shown where the board shows each field: method label, profile, section title, provenance,
    # the heatmap's train and test generator, the stored config.
    assert text.count(HOSTILE) >= 8
    assert json.dumps(HOSTILE)[1:-1] in text  # the config JSON in its <pre>, intact
    titles = [a["title"] for t, a in tags.tags if t == "td" and "title" in a]
    assert titles and all(f"profile {HOSTILE}" in t for t in titles)
    styles = [a["style"] for t, a in tags.tags if t == "td" and "style" in a]
    assert styles and all(re.fullmatch(r"background:#[0-9a-f]{6};color:#(fff|000)", s) for s in styles)


def test_hostile_values_show_as_text_in_the_root_page(hostile_boards):
    assert_only_the_boards_own_markup(hostile_boards / "index.html")
    html = (hostile_boards / "index.html").read_text()
    assert "&lt;/pre&gt;&lt;img src=x on" in html  # results as of: the stored date's first 19 characters
    assert '<a href="synthetic/index.html">synthetic</a>' in html


def _table_cells(line: str) -> int:
    """Cells of a Markdown table line: pipes not escaped with a backslash."""
    return len(re.findall(r"(?<!\\)\|", line)) - 1


# A code span (not opened by an escaped backtick) shows its content literally: no HTML, no link.
CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`)(.*?)(?<!`)\1(?!`)")


def test_hostile_values_cannot_break_the_markdown_tables(hostile_boards):
    for readme in (hostile_boards / "synthetic" / "README.md", hostile_boards / "README.md"):
        md = CODE_SPAN.sub("CODE", readme.read_text())
        assert "<img" not in md and "<script" not in md and "&lt;img src=x on" in md  # escaped, not dropped
        assert not re.search(r"(?<!\\)\]\(http://evil", md), "a stored value made a Markdown link"
        assert not any(line.startswith("# heading") or line == "heading" for line in md.splitlines())
        tables: list[list[str]] = []
        for line in md.splitlines():
            if line.startswith("|"):
                if tables and tables[-1] is not None:
                    tables[-1].append(line)
                else:
                    tables.append([line])
            elif tables and tables[-1] is not None:
                tables.append(None)
        for table in (t for t in tables if t):
            widths = {_table_cells(line) for line in table}
            assert len(widths) == 1, f"{readme}: a row has another number of cells: {table}"
    md = (hostile_boards / "synthetic" / "README.md").read_text()
    assert "| `</pre><img` " in md  # the commit's first 10 characters, as code
    assert r"&lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt;" in md
    assert r"\| \[md\](http://evil.example)" in md


# --- where publish writes ----------------------------------------------------------------------


def tree(root: Path) -> dict[str, str]:
    """Every file and link under ``root`` with a digest of its bytes (or the link's target)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = "-> " + os.readlink(p)
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def small_store(path: Path) -> ResultsStore:
    store = ResultsStore(path)
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    add_result(store, "f5c_static", "overall", "all", "all", 0.2)
    return store


def test_a_folder_that_is_not_a_board_folder_is_refused_untouched(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    clone = tmp_path / "clone"
    (clone / ".git").mkdir(parents=True)
    (clone / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (clone / "README.md").write_text("# my project\n")
    (clone / "index.html").write_text("<p>my site</p>\n")
    (clone / "assets").mkdir()
    (clone / "assets" / "board.css").write_text("body{}\n")
    (clone / "synthetic" / "figures").mkdir(parents=True)
    (clone / "synthetic" / "figures" / "mine.png").write_bytes(b"png")
    before = tree(clone)
    with pytest.raises(NotABoardFolder) as exc:
        publish(store, clone, datasets=["synthetic"])
    assert str(exc.value) == (
        f"{clone} is not empty and was not made by `avbench leaderboard publish` (it has no {MARKER} "
        "file); publishing there would replace or delete files that are not avbench's. Choose an "
        "empty or new folder with --out (publish creates it)")
    with pytest.raises(NotABoardFolder):
        publish(store, clone, datasets=["synthetic"], replace=True)  # --replace is about results, not folders
    assert tree(clone) == before


def test_publish_into_a_repository_clone_from_the_command_line_is_refused(run_cli, tmp_path):
    small_store(tmp_path / "results" / "results.sqlite")
    (tmp_path / ".git").mkdir()
    (tmp_path / "README.md").write_text("# my project\n")
    before = tree(tmp_path)
    r = run_cli("leaderboard", "publish", "--db", "results/results.sqlite", "--out", ".")
    assert r.returncode == 1, r.stdout
    message = " ".join(r.stderr.split())  # as the console wrapped it
    assert f"error: {tmp_path} is not empty and was not made by `avbench leaderboard publish`" in message
    assert "Choose an empty or new folder with --out (publish creates it)" in message
    assert tree(tmp_path) == before


@pytest.mark.parametrize("name", ["../victim", "ABSOLUTE", "", ".hidden", "a/b", "..", "assets", "sp ace"])
def test_a_dataset_name_that_is_not_a_plain_folder_name_is_refused(tmp_path, name):
    if name == "ABSOLUTE":
        name = str(tmp_path / "abs" / "victim")
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    hostile_row(store, "f5c_featdiff", 1.5, value="all", dataset=name)
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "keep.txt").write_text("mine\n")
    before = tree(tmp_path)
    out = tmp_path / "out"  # out/../victim is tmp_path/victim
    with pytest.raises(BadDatasetName) as exc:
        publish(store, out)
    assert str(exc.value).startswith(f"dataset {name!r} in {store.path} cannot name a board folder")
    assert "nothing was written" in str(exc.value)
    with pytest.raises(BadDatasetName):
        publish(store, out, datasets=[name])
    assert tree(tmp_path) == before  # not even the output folder was made


def test_a_bad_dataset_name_does_not_stop_the_boards_asked_for(tmp_path):
    store = ResultsStore(tmp_path / "db" / "results.sqlite")
    hostile_row(store, "f5c_featdiff", 1.5, value="all", dataset="../victim")
    add_result(store, "f5c_featdiff", "overall", "all", "all", 1.5)
    publish(store, tmp_path / "out", datasets=["synthetic"])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        MARKER, "README.md", "assets", "index.html", "synthetic"]
    assert not (tmp_path / "victim").exists()


def test_republishing_its_own_folder_keeps_the_publishers_files(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["synthetic"])
    marker = json.loads((out / MARKER).read_text())
    assert marker["written_by"] == "avbench leaderboard publish"
    (out / "REPRODUCE.md").write_text("how these were made\n")
    (out / "results").mkdir()
    (out / "results" / "results.sqlite").write_bytes(b"a database")
    (out / "assets" / "logo.png").write_bytes(b"logo")
    (out / ".avbench-notes").mkdir()  # looks like avbench's, is not one of its temporary names
    add_result(store, "stgcn", "overall", "all", "all", 1.0)
    written = publish(store, out)
    assert written == [out / "nvfair", out / "synthetic"]
    assert (out / "REPRODUCE.md").read_text() == "how these were made\n"
    assert (out / "results" / "results.sqlite").read_bytes() == b"a database"
    assert (out / "assets" / "logo.png").read_bytes() == b"logo"
    assert (out / ".avbench-notes").is_dir()
    assert "[REPRODUCE.md](REPRODUCE.md)" in (out / "README.md").read_text()
    assert len(json.loads((out / "synthetic" / "results.json").read_text())["measured"]) == 3
    board = json.loads((out / "synthetic" / MARKER).read_text())
    assert board["dataset"] == "synthetic"
    assert set(board["files"]) == {p.relative_to(out / "synthetic").as_posix()
                                   for p in (out / "synthetic").rglob("*") if p.is_file()} - {MARKER}


def test_a_folder_in_a_board_folder_that_is_not_a_board_is_refused(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["nvfair"])
    (out / "synthetic").mkdir()
    (out / "synthetic" / "notes.txt").write_text("mine\n")
    before = tree(out)
    with pytest.raises(NotABoardFolder, match=re.escape(
            f"{out / 'synthetic'} exists but is not a board written by `avbench leaderboard publish` "
            f"(no {MARKER} file in it); move or rename it, or publish to another --out")):
        publish(store, out)
    assert tree(out) == before


def test_a_board_holding_files_avbench_did_not_write_is_refused(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["synthetic"])
    (out / "synthetic" / "figures" / "my-plot.png").write_bytes(b"mine")
    before = tree(out)
    with pytest.raises(NotABoardFolder, match=re.escape(
            f"{out / 'synthetic'} holds 1 file(s) that `avbench leaderboard publish` did not write "
            "(figures/my-plot.png); a board folder is replaced whole when it is republished. Move them "
            f"out of {out / 'synthetic'} and publish again")):
        publish(store, out, datasets=["synthetic"])
    assert tree(out) == before


def test_a_linked_board_folder_is_refused(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["nvfair"])
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("mine\n")
    (out / "synthetic").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(NotABoardFolder, match="synthetic exists but is not a board"):
        publish(store, out, datasets=["synthetic"])
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == ["keep.txt"]


def test_leftovers_of_a_killed_publish_are_cleared_and_a_board_moved_away_comes_back(tmp_path):
    store = small_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out)
    old_board = tree(out / "synthetic")
    # What a publish killed mid-way leaves where the system cannot swap two folders in one step:
    # the old board renamed away, the new one half written, a root page half written.
    os.rename(out / "synthetic", out / ".avbench-old-0123abcd-synthetic")
    (out / ".avbench-new-89abcdef-synthetic" / "figures").mkdir(parents=True)
    (out / ".avbench-new-89abcdef-synthetic" / "index.html").write_text("<p>half")
    (out / ".avbench-new-00000001-index.html").write_text("<p>half")
    (out / ".avbench-new-00000002-board.css").write_text("bo")
    publish(store, out, datasets=["nvfair"])
    assert tree(out / "synthetic") == old_board
    assert not [p.name for p in out.iterdir() if p.name.startswith(".avbench-new-")
                or p.name.startswith(".avbench-old-")]
    assert "[synthetic](synthetic/README.md)" in (out / "README.md").read_text()


# --- killed mid-way ----------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import os, pathlib, shutil, sys, time
    import avbench.leaderboard.publish as pub
    import avbench.leaderboard.render as render
    from avbench.results import ResultsStore

    db, out, stop = sys.argv[1], sys.argv[2], int(sys.argv[3])
    count = 0

    def step(what, *paths):
        global count
        if not any(out in str(p) for p in paths):
            return
        count += 1
        print(f"step {count} {what} {' '.join(str(p).replace(out, '') for p in paths)}", flush=True)
        if count == stop:
            time.sleep(120)  # the parent kills us here

    def hook(owner, name, nargs):
        real = getattr(owner, name)
        def wrapped(*args, **kwargs):
            step(name, *args[:nargs])
            return real(*args, **kwargs)
        setattr(owner, name, wrapped)

    hook(os, "rename", 2)
    hook(os, "replace", 2)
    hook(shutil, "rmtree", 1)
    hook(pub, "_exchange", 2)
    hook(pathlib.Path, "write_text", 1)
    hook(pathlib.Path, "mkdir", 1)
    pub.publish(ResultsStore(db), pathlib.Path(out), datasets=["synthetic"])
    print("done", flush=True)
""")


def _figures_referenced(board: Path) -> set[str]:
    return set(re.findall(r'<img src="(figures/[^"]+)"', (board / "index.html").read_text()))


def quick_store(path: Path) -> ResultsStore:
    """Two evaluations per method: the board has figures but no bootstrap of pooled AUC, EER and
    TAR (the slow part of a publish)."""
    store = ResultsStore(path)
    for method, shift in (("f5c_featdiff", 1.5), ("f5c_static", 0.2)):
        for group in ("all", "tps"):
            add_result(store, method, "overall", "all", group, shift)
    return store


def test_where_folders_cannot_be_swapped_in_one_step_two_renames_replace_the_board(tmp_path, monkeypatch):
    import avbench.leaderboard.publish as pub

    monkeypatch.setattr(pub, "_exchange", lambda a, b: False)  # as on macOS or a file system without it
    store = quick_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["synthetic"])
    add_result(store, "stgcn", "overall", "all", "all", 1.0)
    publish(store, out, datasets=["synthetic"])
    assert {e["method"] for e in json.loads((out / "synthetic" / "results.json").read_text())["measured"]} == {
        "f5c_featdiff", "f5c_static", "stgcn"}
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "README.md", "assets", "index.html", "synthetic"]


def test_a_publish_killed_at_any_step_leaves_the_old_board_or_the_new_one(tmp_path):
    store = quick_store(tmp_path / "db" / "results.sqlite")  # quick: every kill starts a process
    start = tmp_path / "start"
    publish(store, start, datasets=["synthetic"])
    old, old_root = tree(start / "synthetic"), (start / "index.html").read_text()
    add_result(store, "stgcn", "overall", "all", "all", 1.0)
    reference = tmp_path / "reference"
    publish(store, reference, datasets=["synthetic"])
    new, new_root = tree(reference / "synthetic"), (reference / "index.html").read_text()
    assert old != new and old_root != new_root

    def child(out: Path, stop: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-c", CHILD, str(store.path), str(out), str(stop)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    dry = tmp_path / "dry"
    shutil.copytree(start, dry, symlinks=True)
    proc = child(dry, 0)
    steps = [ln for ln in proc.communicate(timeout=300)[0].splitlines() if ln.startswith("step")]
    assert proc.returncode == 0 and tree(dry / "synthetic") == new
    assert any(" _exchange " in s for s in steps), steps  # an atomic swap, not two renames
    swap = next(i for i, s in enumerate(steps, 1) if " _exchange " in s)
    # Before anything, while the new board is written, at the swap, just after it, while the root
    # pages are written, and at the very last step.
    stops = sorted({1, swap // 2, swap - 1, swap, swap + 1, (swap + len(steps)) // 2, len(steps)})
    for stop in stops:
        out = tmp_path / f"killed-{stop}"
        shutil.copytree(start, out, symlinks=True)
        proc = child(out, stop)
        for line in proc.stdout:
            if line.startswith(f"step {stop} "):
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL, f"not killed at step {stop}: {steps}"
        board = tree(out / "synthetic")
        assert board in (old, new), f"killed before {steps[stop - 1]}: a mix of old and new board"
        assert {f"synthetic/{f}" for f in _figures_referenced(out / "synthetic")} == {
            f"synthetic/{k}" for k in board if k.startswith("figures/")}
        assert json.loads((out / "synthetic" / "results.json").read_text()) is not None
        assert (out / "index.html").read_text() in (old_root, new_root)
        publish(store, out, datasets=["synthetic"])  # the next publish clears the leftovers
        assert tree(out / "synthetic") == new
        assert sorted(p.name for p in out.iterdir()) == [MARKER, "README.md", "assets", "index.html",
                                                          "synthetic"]
        assert sorted(p.name for p in (out / "assets").iterdir()) == ["board.css"]


@pytest.mark.skipif(sys.platform == "win32", reason="no advisory locks on folders")
def test_a_second_publish_into_the_same_folder_waits_its_turn(tmp_path):
    import fcntl

    from avbench.leaderboard.publish import BoardFolderBusy

    store = quick_store(tmp_path / "db" / "results.sqlite")
    out = tmp_path / "boards"
    publish(store, out, datasets=["synthetic"])
    before = tree(out)
    fd = os.open(out, os.O_RDONLY)  # what a publish in progress holds
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(BoardFolderBusy, match=re.escape(
                f"{out}: another `avbench leaderboard publish` is writing there; wait for it to finish, "
                "then publish again")):
            publish(store, out, datasets=["synthetic"])
    finally:
        os.close(fd)
    assert tree(out) == before


def test_stored_strings_never_start_a_spreadsheet_formula_in_results_csv(tmp_path):
    store = ResultsStore(tmp_path / "results" / "results.sqlite")
    hostile_row(store, "f5c_featdiff", 1.5, value='=HYPERLINK("http://evil.example","x")')
    hostile_row(store, "-m_plugin", 0.5, value="@SUM(1+1)")
    publish(store, tmp_path / "boards", datasets=["synthetic"])
    table = pd.read_csv(tmp_path / "boards" / "synthetic" / "results.csv", dtype=str, keep_default_na=False)
    cells = [v for col in table.columns for v in table[col]]
    assert not [v for v in cells if v.startswith(("=", "+", "@", "\t", "\r"))]
    assert not [v for v in cells if v.startswith("-") and not re.fullmatch(r"-[0-9.e+-]+", v)]
    assert "'-m_plugin" in set(table["method"]) and "'@SUM(1+1)" in set(table["profile"])
    assert pd.to_numeric(table["mean_target_auc"]).between(0, 1).all()  # numbers left as they are
