"""Identity-list parsers (avbench/data/splits.py) against the shipped NVFAIR files and malformed ones."""

from __future__ import annotations

import re
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avbench.data.splits import (
    nvfair_source_key, nvfair_split_key, read_nvfair_sources, read_nvfair_splits,
)
from avbench.errors import DatasetError

SHIPPED = Path(str(resources.files("avbench.data") / "resources"))
SHIPPED_SPLITS = SHIPPED / "nvfair_train_val_test_splits.txt"
SHIPPED_SOURCES = SHIPPED / "nvfair_subject_sources.txt"
SHARED = Path("/work/shared/nvfair")

GOOD = "identities in train set:\nid001\nidentities in validation set:\nid002\nidentities in test set:\n1001\n"


def write(tmp_path: Path, text: str, name: str = "train_val_test_splits.txt", newline: str = "\n") -> Path:
    p = tmp_path / name
    p.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return p


# --- the shipped NVFAIR files ---------------------------------------------------------

def test_shipped_split_counts_are_111_15_35():
    split_of = read_nvfair_splits(SHIPPED_SPLITS)
    assert len(split_of) == 161
    assert Counter(split_of.values()) == {"train": 111, "val": 15, "test": 35}


def test_shipped_split_known_members():
    split_of = read_nvfair_splits(SHIPPED_SPLITS)
    assert split_of["id027"] == "train"
    assert split_of["id029"] == "val"
    assert split_of["Actor_18"] == "val"
    assert split_of["id001"] == "test"
    assert split_of["1001"] == "test"
    assert split_of["1085"] == "test"
    # every id has one of the three documented forms
    pattern = re.compile(r"^(id0(0[1-9]|[1-3]\d|4[0-6])|Actor_(0[1-9]|1\d|2[0-4])|10([0-8]\d|9[01]))$")
    assert [i for i in split_of if not pattern.match(i)] == []


def test_shipped_sources_three_sources_and_quote_normalised():
    source_of = read_nvfair_sources(SHIPPED_SOURCES)
    assert len(source_of) == 161
    assert Counter(source_of.values()) == {"NVIDIA-VC-subset": 46, "RAVDESS": 24, "CREMA-D": 91}
    assert source_of["1085"] == "CREMA-D"
    assert "1085'" not in source_of
    assert [i for i in source_of if any(q in i for q in "'\"` ")] == []
    assert source_of["id001"] == "NVIDIA-VC-subset"
    assert source_of["Actor_01"] == "RAVDESS"
    assert source_of["1001"] == "CREMA-D"


def test_shipped_raw_file_really_has_the_stray_quote():
    # guards the normalisation test above: the quirk must be present in the shipped copy
    assert "1085'" in SHIPPED_SOURCES.read_text().splitlines()


def test_every_split_identity_has_a_source_and_vice_versa():
    split_of = read_nvfair_splits(SHIPPED_SPLITS)
    source_of = read_nvfair_sources(SHIPPED_SOURCES)
    assert set(split_of) - set(source_of) == set()
    assert set(source_of) - set(split_of) == set()


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared NVFAIR facts folder not present")
def test_shipped_copies_match_shared_facts():
    assert SHIPPED_SPLITS.read_bytes() == (SHARED / "train_val_test_splits.txt").read_bytes()
    assert SHIPPED_SOURCES.read_bytes() == (SHARED / "subject_sources.txt").read_bytes()


# --- header keys ----------------------------------------------------------------------

@pytest.mark.parametrize("header,key", [
    ("identities in train set", "train"),
    ("identities in training set", "train"),
    ("identities in validation set", "val"),
    ("identities in val set", "val"),
    ("identities in test set", "test"),
    ("Identities In Testing Set", "test"),
    ("identities in dev set", None),
    ("train", None),
])
def test_nvfair_split_key(header, key):
    assert nvfair_split_key(header) == key


@pytest.mark.parametrize("header,key", [
    ("The following subjects are a part of the NVIDIA-VC-subset", "NVIDIA-VC-subset"),
    ("The following subjects are a part of the RAVDESS dataset", "RAVDESS"),
    ("The following subjects are a part of the CREMA-D dataset", "CREMA-D"),
    ("the following subjects are a part of the RAVDESS DATASET", "RAVDESS"),
    ("Subjects of RAVDESS", None),
])
def test_nvfair_source_key(header, key):
    assert nvfair_source_key(header) == key


# --- tolerated noise -------------------------------------------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_crlf_and_blank_lines_tolerated(tmp_path, newline):
    text = ("\n\nidentities in train set:\n\nid001\n   \n'Actor_01'\n\"1001\"\n\n"
            "identities in validation set:  \nid002\n\nidentities in test set:\n  1002'  \n\n\n")
    p = write(tmp_path, text, newline=newline)
    assert read_nvfair_splits(p) == {"id001": "train", "Actor_01": "train", "1001": "train",
                                     "id002": "val", "1002": "test"}


def test_utf8_bom_tolerated(tmp_path):
    p = tmp_path / "train_val_test_splits.txt"
    p.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert read_nvfair_splits(p) == {"id001": "train", "id002": "val", "1001": "test"}


def test_empty_split_list_is_allowed(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\nidentities in validation set:\n"
                        "identities in test set:\n1001\n")
    assert read_nvfair_splits(p) == {"id001": "train", "1001": "test"}


def test_same_identity_twice_in_one_split_is_not_an_error(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\nid001\nidentities in val set:\nid002\n"
                        "identities in test set:\n1001\n")
    assert read_nvfair_splits(p) == {"id001": "train", "id002": "val", "1001": "test"}


# --- malformed files -------------------------------------------------------------------

def test_unknown_header_names_file_and_line(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\n\nidentities in dev set:\nid002\n")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    msg = str(ei.value)
    assert f"{p}:4:" in msg
    assert "unrecognised header" in msg
    assert "identities in dev set:" in msg


def test_identity_before_header_names_file_and_line(tmp_path):
    p = write(tmp_path, "\nid009\nidentities in train set:\nid001\n")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    msg = str(ei.value)
    assert f"{p}:2:" in msg
    assert "id009" in msg
    assert "before any header" in msg


def test_identity_before_header_line_number_counts_crlf_lines(tmp_path):
    p = write(tmp_path, "\n\n\nid009\n", newline="\r\n")
    with pytest.raises(DatasetError, match=re.escape(f"{p}:4:")):
        read_nvfair_splits(p)


def test_bad_identity_text_names_file_and_line(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\nid 002\n")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    assert f"{p}:3:" in str(ei.value)
    assert "'id 002'" in str(ei.value)


def test_header_without_colon_is_not_silently_an_identity(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\nidentities in validation set\nid002\n"
                        "identities in test set:\n1001\n")
    with pytest.raises(DatasetError, match=re.escape(f"{p}:3:")):
        read_nvfair_splits(p)


def test_repeated_header_names_file_and_line(tmp_path):
    p = write(tmp_path, GOOD + "identities in train set:\nid003\n")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    assert f"{p}:7:" in str(ei.value)
    assert "appears twice" in str(ei.value)


def test_identity_in_two_splits_names_identity_and_both_splits(tmp_path):
    p = write(tmp_path, "identities in train set:\nid001\nActor_05\nidentities in validation set:\nid002\n"
                        "identities in test set:\n1001\nActor_05\n")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    msg = str(ei.value)
    assert str(p) in msg
    assert "Actor_05 (train and test)" in msg
    assert "1 identities" in msg
    assert "id001" not in msg and "1001" not in msg


def test_identity_in_two_sources_names_identity_and_both_sources(tmp_path):
    p = write(tmp_path, "The following subjects are a part of the RAVDESS dataset:\nActor_01\n"
                        "The following subjects are a part of the CREMA-D dataset:\n1001\n'Actor_01'\n",
              name="subject_sources.txt")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_sources(p)
    assert str(p) in str(ei.value)
    assert "Actor_01 (RAVDESS and CREMA-D)" in str(ei.value)


@pytest.mark.parametrize("missing", ["train", "val", "test"])
def test_missing_split_list_names_file_and_split(tmp_path, missing):
    headers = {"train": "identities in train set:\nid001\n",
               "val": "identities in validation set:\nid002\n",
               "test": "identities in test set:\n1001\n"}
    p = write(tmp_path, "".join(v for k, v in headers.items() if k != missing))
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    msg = str(ei.value)
    assert str(p) in msg
    assert f"missing split list(s): {missing}" in msg


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\r\n\r\n"])
def test_empty_file_names_file(tmp_path, text):
    p = write(tmp_path, text)
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    assert str(p) in str(ei.value)
    assert "no headed identity lists" in str(ei.value)


def test_empty_sources_file_names_file(tmp_path):
    p = write(tmp_path, "", name="subject_sources.txt")
    with pytest.raises(DatasetError, match=re.escape(str(p))):
        read_nvfair_sources(p)


def test_missing_file_names_file(tmp_path):
    p = tmp_path / "nope" / "train_val_test_splits.txt"
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    assert str(p) in str(ei.value)
    assert "cannot read" in str(ei.value)


def test_directory_instead_of_file_names_it(tmp_path):
    p = tmp_path / "subject_sources.txt"
    p.mkdir()
    with pytest.raises(DatasetError, match=re.escape(str(p))):
        read_nvfair_sources(p)


def test_unreadable_file_names_file(tmp_path, monkeypatch):
    # As root (CI) chmod cannot deny a read, so the OS's refusal is simulated.
    p = write(tmp_path, GOOD)
    real = Path.read_text

    def read_text(self, *args, **kwargs):
        if self == p:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    with pytest.raises(DatasetError, match=re.escape(f"cannot read identity list {p}: Permission denied")):
        read_nvfair_splits(p)


def test_non_utf8_file_is_a_dataset_error_naming_file(tmp_path):
    # e.g. a split list re-saved as UTF-16 ("Unicode" in Windows Notepad): the parser must
    # answer with a DatasetError naming the file, not a bare UnicodeDecodeError traceback.
    p = tmp_path / "train_val_test_splits.txt"
    p.write_text(GOOD, encoding="utf-16")
    with pytest.raises(DatasetError) as ei:
        read_nvfair_splits(p)
    assert str(p) in str(ei.value)


# --- property: what is written in the headed format is what is read ----------------------

_ID = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_\-]{0,11}", fullmatch=True)
_SPLIT_HEADERS = {
    "train": ["identities in train set", "identities in training set", "Identities in TRAIN set"],
    "val": ["identities in validation set", "identities in val set", "IDENTITIES IN VALIDATION SET"],
    "test": ["identities in test set", "identities in testing set", "Identities In Test Set"],
}


@st.composite
def headed_split_file(draw):
    ids = draw(st.lists(_ID, unique=True, max_size=30))
    labels = draw(st.lists(st.sampled_from(["train", "val", "test"]), min_size=len(ids),
                           max_size=len(ids)))
    expected = dict(zip(ids, labels, strict=True))
    order = draw(st.permutations(["train", "val", "test"]))
    blank = st.lists(st.sampled_from(["", "  ", "\t"]), max_size=2)
    quote = st.sampled_from(["", "'", '"', "`"])
    lines: list[str] = list(draw(blank))
    for split in order:
        lines.append(draw(st.sampled_from(_SPLIT_HEADERS[split])) + draw(st.sampled_from([":", " :"])))
        for identity in (i for i in ids if expected[i] == split):
            lines.extend(draw(blank))
            lq, rq = draw(quote), draw(quote)
            pad = draw(st.sampled_from(["", " ", "  "]))
            lines.append(f"{pad}{lq}{identity}{rq}{pad}")
        lines.extend(draw(blank))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + draw(st.sampled_from(["", newline])), expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headed_split_file())
def test_property_read_returns_exactly_what_was_written(tmp_path, case):
    text, expected = case
    p = tmp_path / "train_val_test_splits.txt"
    p.write_bytes(text.encode("utf-8"))
    assert read_nvfair_splits(p) == expected
