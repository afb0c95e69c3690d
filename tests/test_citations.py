"""The citation registry: entries are plain data checked when registered, the one-line text
and the BibTeX entry are rendered from them, and every key a spec or a reported row names is
registered, so a paper is cited the same way everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from avbench import citations
from avbench.citations import Citation
from avbench.leaderboard.reported import load_reported
from avbench.registry import load_registry

README = Path(__file__).resolve().parents[1] / "README.md"

# The one-line texts as the registry wrote them when entries were BibTeX strings.
TEXTS = {
    "nvfair2024": "Prashnani, Nagano, De Mello, Luebke, Gallo. Avatar Fingerprinting for Authorized Use of "
                  "Synthetic Talking-Head Videos. European Conference on Computer Vision (ECCV), "
                  "pp. 209–228, 2024.",
    "f5c2026": "Chapariniya, Odobez, Dellwo, Vuković. Micro-Expression-Aware Avatar Fingerprinting via "
               "Inter-Frame Feature Differencing. arXiv 2604.23247, 2026.",
    "avaprintdb2026": "Pedrouzo-Rodriguez, Gomez, Tolosana, Vera-Rodriguez, Daza, Morales, Fierrez. Leveraging "
                      "Avatar Fingerprinting: A Multi-Generator Photorealistic Talking-Head Public Database "
                      "and Benchmark. arXiv 2603.26934, 2026.",
    "stgcn2018": "Yan, Xiong, Lin. Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action "
                 "Recognition. AAAI Conference on Artificial Intelligence, 2018.",
    "mediapipe_facemesh2019": "Kartynnik, Ablavatski, Grishchenko, Grundmann. Real-time Facial Surface Geometry "
                              "from Monocular Video on Mobile GPUs. arXiv 1907.06724, 2019.",
    "fan2017": "Bulat, Tzimiropoulos. How Far Are We From Solving the 2D & 3D Face Alignment Problem? (and a "
               "Dataset of 230,000 3D Facial Landmarks). IEEE International Conference on Computer Vision "
               "(ICCV), 2017.",
}
LATEX_AUTHOR = "Vukovi{\\'c}, Teodora"


def entry(**change) -> Citation:
    fields = dict(key="k2020", kind="misc", title="A Title", authors=("Doe, Jane",), year=2020)
    return Citation(**(fields | change))


def test_every_entry_keeps_its_one_line_text():
    assert {key: c.text for key, c in citations.CITATIONS.items()} == TEXTS


def test_nvfair_is_cited_with_its_five_authors():
    c = citations.get("nvfair2024")
    assert c.authors == ("Prashnani, Ekta", "Nagano, Koki", "De Mello, Shalini", "Luebke, David", "Gallo, Orazio")
    assert c.surnames == ("Prashnani", "Nagano", "De Mello", "Luebke", "Gallo")
    assert citations.get("f5c2026").authors[-1] == "Vuković, Teodora"  # plain Unicode, no LaTeX accent


def test_nvfair_bibtex_is_rendered_from_its_fields():
    assert citations.get("nvfair2024").bibtex == (
        "@inproceedings{nvfair2024,\n"
        "  author = {Prashnani, Ekta and Nagano, Koki and De Mello, Shalini and Luebke, David and Gallo, Orazio},\n"
        "  title = {Avatar Fingerprinting for Authorized Use of Synthetic Talking-Head Videos},\n"
        "  booktitle = {European Conference on Computer Vision (ECCV)},\n"
        "  pages = {209--228},\n"
        "  year = {2024},\n"
        "  eprint = {2305.03713},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {cs.CV}\n"
        "}")


def test_arxiv_bibtex_keeps_unicode_and_the_archive_fields():
    assert citations.get("f5c2026").bibtex == (
        "@misc{f5c2026,\n"
        "  author = {Chapariniya, Masoumeh and Odobez, Jean-Marc and Dellwo, Volker and Vuković, Teodora},\n"
        "  title = {Micro-Expression-Aware Avatar Fingerprinting via Inter-Frame Feature Differencing},\n"
        "  year = {2026},\n"
        "  eprint = {2604.23247},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {cs.CV}\n"
        "}")


def test_bibtex_titles_escape_ampersands_and_protect_capitalised_words():
    assert ("  title = {How Far Are We From Solving the {2D} \\& {3D} Face Alignment Problem? (and a Dataset "
            "of 230,000 {3D} Facial Landmarks)},\n") in citations.get("fan2017").bibtex
    assert "  title = {Real-time Facial Surface Geometry from Monocular Video on Mobile {GPUs}},\n" in \
        citations.get("mediapipe_facemesh2019").bibtex


def test_a_bib_file_of_the_registry_holds_every_key_once():
    bib = "\n\n".join(c.bibtex for c in citations.CITATIONS.values())
    heads = re.findall(r"^@(\w+)\{([^,]+),$", bib, flags=re.M)
    keys = [key for _, key in heads]
    assert sorted(keys) == sorted(set(keys)) == sorted(TEXTS)
    assert [kind for kind, _ in heads] == [c.kind for c in citations.CITATIONS.values()]
    assert bib.count("{") == bib.count("}")


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
    assert citations.cite("nvfair2024") == TEXTS["nvfair2024"]
    assert citations.cite("Someone et al., 2030") == "Someone et al., 2030"  # a plugin's free text
    assert citations.is_key("fan2017") and not citations.is_key("Someone et al., 2030")


def test_a_key_registered_twice_is_refused():
    with pytest.raises(ValueError, match="citation key 'k2020' is registered twice in avbench/citations.py"):
        citations._register(entry(), entry(title="Another"))


@pytest.mark.parametrize(("change", "message"), [
    ({"title": " "}, "citation 'k2020' in avbench/citations.py: title is empty"),
    ({"authors": ()}, "citation 'k2020' in avbench/citations.py: authors must be a non-empty tuple"),
    ({"authors": "Doe, Jane"}, "citation 'k2020' in avbench/citations.py: authors must be a non-empty tuple"),
    ({"authors": ("Jane Doe",)}, "authors entry 'Jane Doe' is not 'Surname, Given'"),
    ({"year": 24}, "citation 'k2020' in avbench/citations.py: year must be a 4-digit int such as 2024, got 24"),
    ({"year": "2020"}, "citation 'k2020' in avbench/citations.py: year must be a 4-digit int such as 2024, "
                       "got '2020'"),
    ({"authors": (LATEX_AUTHOR,)},
     f"citation 'k2020' in avbench/citations.py: authors {LATEX_AUTHOR!r} contains LaTeX ({{, }} or \\)"),
    ({"eprint": "2604.23247"}, "eprint and archiveprefix go together"),
    ({"kind": "@misc"}, "kind '@misc' must be a lower-case BibTeX entry type"),
    ({"key": "a key"}, "citation 'a key' in avbench/citations.py: key must be letters"),
])
def test_an_incomplete_entry_is_refused_naming_the_key_and_field(change, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        entry(**change)


def test_every_registered_method_cites_a_registered_key():
    specs = load_registry().methods
    missing = {s.name: s.citation for s in specs if not citations.is_key(s.citation)}
    assert not missing, f"methods citing free text instead of a key of avbench.citations: {missing}"
