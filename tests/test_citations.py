"""The citation registry: every entry is valid BibTeX, and every key a spec or a reported row
names is registered, so a paper is cited the same way everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from avbench import citations
from avbench.leaderboard.reported import load_reported
from avbench.registry import load_registry

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("key", sorted(citations.CITATIONS))
def test_every_entry_parses_and_carries_its_key(key):
    c = citations.get(key)
    kind, fields = c.entry
    assert kind in ("article", "inproceedings", "misc")
    assert {"author", "title", "year"} <= set(fields) and fields["year"].isdigit()
    assert "booktitle" in fields or "journal" in fields or fields.get("archiveprefix") == "arXiv"
    assert c.text.endswith(f"{fields['year']}.") and c.surnames


def test_nvfair_is_cited_with_its_authors():
    c = citations.get("nvfair2024")
    assert c.surnames == ["Prashnani", "Nagano", "De Mello", "Luebke", "Gallo"]
    assert c.text == ("Prashnani, Nagano, De Mello, Luebke, Gallo. Avatar Fingerprinting for Authorized Use "
                      "of Synthetic Talking-Head Videos. European Conference on Computer Vision (ECCV), "
                      "pp. 209–228, 2024.")
    assert citations.get("f5c2026").surnames == ["Chapariniya", "Odobez", "Dellwo", "Vuković"]


def test_every_referenced_key_is_registered():
    sources = set(load_reported()["source"])
    protocols = {s.citation for s in load_registry().protocols}
    assert sources == {"f5c2026", "nvfair2024"}
    assert protocols <= set(citations.CITATIONS) and sources <= set(citations.CITATIONS)


def test_the_readme_lists_the_referenced_papers_as_the_registry_writes_them():
    readme = README.read_text()
    used = set(load_reported()["source"]) | {s.citation for s in load_registry().protocols}
    for key in sorted(used):
        assert f"- `{key}`: {citations.get(key).text}" in readme, key


def test_unknown_keys_and_free_text():
    with pytest.raises(KeyError, match="citation key 'nvfair2042' is not in avbench.citations. Did you mean "
                                       "'nvfair2024'?"):
        citations.get("nvfair2042")
    assert citations.cite("nvfair2024") == citations.get("nvfair2024").text
    assert citations.cite("Someone et al., 2030") == "Someone et al., 2030"  # a plugin's free text


@pytest.mark.parametrize(("text", "message"), [
    ("author = {X}", "not a BibTeX entry"),
    ("@misc{k, title = {A}, title = {B}}", "BibTeX entry k: field 'title' given twice"),
    ("@misc{k, title = {A {B}", "BibTeX entry k: value opened at 17 is never closed"),
    ("@misc{k, title = {A} year = {2020}}", "BibTeX entry k: expected ',' or '}' after field 'title' at 21"),
    ("@misc{k, title = {A}} trailing", "BibTeX entry k: text after the closing brace at 20"),
])
def test_malformed_bibtex_is_refused_with_the_place_named(text, message):
    with pytest.raises(ValueError, match=message.replace("{", r"\{").replace("}", r"\}")):
        citations.parse_bibtex(text)


def test_a_citation_whose_entry_has_another_key_is_refused():
    with pytest.raises(ValueError, match="citation 'a': its BibTeX entry is keyed 'b'"):
        citations.Citation("a", "@misc{b, author = {X, Y}, title = {T}, year = {2020}}").entry


def test_every_registered_method_cites_a_registered_key():
    from avbench.citations import is_key
    from avbench.registry import load_registry

    specs = load_registry().methods
    missing = {s.name: s.citation for s in specs if not is_key(s.citation)}
    assert not missing, f"methods citing free text instead of a key of avbench.citations: {missing}"
