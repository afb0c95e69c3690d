"""Citations as data: one registry of references, keyed by a short id.

Methods, protocols, datasets and reported figures name a key (``"nvfair2024"``)
instead of carrying their own free-text reference, so a paper is cited the same
way everywhere (the board's sources, ``avbench list``, the README) and a wrong
author list is fixed in one place (MTEB keeps a ``bibtex_citation`` per task for
the same reason).

Each entry is a :class:`Citation` with explicit fields in plain Unicode (authors as
``"Surname, Given"``, no LaTeX escapes), checked when the module is imported.  Both
forms a reader sees are rendered from those fields: :attr:`Citation.text`, the one
line shown on a board, and :attr:`Citation.bibtex`, the BibTeX entry a board
exports.  Keeping the fields as data rather than BibTeX strings means there is no
parser to maintain and nothing to decode before the text can be shown.

Third-party plugins may still give free text as a spec's ``citation``:
:func:`cite` returns a registered key's text and any other string unchanged.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

__all__ = ["CITATIONS", "Citation", "cite", "get", "is_key"]

# BibTeX field name -> Citation attribute, in the order every rendered entry uses.
_BIBTEX_FIELDS = {"author": "authors", "title": "title", "booktitle": "booktitle", "pages": "pages",
                  "year": "year", "eprint": "eprint", "archivePrefix": "archiveprefix",
                  "primaryClass": "primaryclass"}
# Characters LaTeX treats as commands; a value carrying one is LaTeX, not plain text.
_LATEX = set("{}\\")


@dataclass(frozen=True)
class Citation:
    """One reference.  ``kind`` is the BibTeX entry type; an empty optional field is
    absent from the rendered entry.  Construction checks the fields and raises
    ``ValueError`` naming the key and the field."""

    key: str
    kind: str
    title: str
    authors: tuple[str, ...]   # "Surname, Given", in the paper's order
    year: int
    booktitle: str = ""        # proceedings of an @inproceedings
    pages: str = ""            # "209–228" (en dash; rendered as BibTeX's "--")
    eprint: str = ""           # preprint id, with archiveprefix naming the archive
    archiveprefix: str = ""
    primaryclass: str = ""

    def __post_init__(self) -> None:
        where = f"citation {self.key!r} in avbench/citations.py"
        if not re.fullmatch(r"[A-Za-z0-9_:.-]+", self.key):
            raise ValueError(f"{where}: key must be letters, digits and _:.- only (it names the BibTeX entry)")
        if not re.fullmatch(r"[a-z]+", self.kind):
            raise ValueError(f"{where}: kind {self.kind!r} must be a lower-case BibTeX entry type such as "
                             "'inproceedings' or 'misc'")
        if not self.title.strip():
            raise ValueError(f"{where}: title is empty; give the paper's title")
        if not isinstance(self.authors, tuple) or not self.authors:
            raise ValueError(f"{where}: authors must be a non-empty tuple of 'Surname, Given' strings, "
                             f"got {self.authors!r}")
        for author in self.authors:
            surname, _, given = author.partition(",")
            if not surname.strip() or not given.strip():
                raise ValueError(f"{where}: authors entry {author!r} is not 'Surname, Given'")
        if type(self.year) is not int or not 1000 <= self.year <= 9999:
            raise ValueError(f"{where}: year must be a 4-digit int such as 2024, got {self.year!r}")
        if bool(self.eprint) != bool(self.archiveprefix):
            raise ValueError(f"{where}: eprint and archiveprefix go together (e.g. eprint='2604.23247', "
                             "archiveprefix='arXiv')")
        for name, value in self.fields.items():
            if _LATEX & set(value):
                raise ValueError(f"{where}: {_BIBTEX_FIELDS.get(name, name)} {value!r} contains LaTeX "
                                 "({, } or \\); write plain Unicode (ć, &, –), the BibTeX is rendered from it")

    @property
    def fields(self) -> dict[str, str]:
        """The present BibTeX fields in rendering order, as plain text (authors joined
        with `` and ``)."""
        out = {}
        for name, attr in _BIBTEX_FIELDS.items():
            value = getattr(self, attr)
            value = " and ".join(value) if attr == "authors" else str(value)
            if value:
                out[name] = value
        return out

    @property
    def bibtex(self) -> str:
        """The BibTeX entry: values braced, Unicode kept, ``&``/``%``/``$``/``#``/``_``
        escaped, en dashes as ``--``, and in the title every word with a capital after its
        first letter (``GPUs``, ``3D``) braced so that bibliography styles keep its case."""
        lines = []
        for name, value in self.fields.items():
            value = re.sub(r"([&%$#_])", r"\\\1", value).replace("–", "--")
            if name == "title":
                value = re.sub(r"\w+", lambda m: f"{{{m[0]}}}" if any(c.isupper() for c in m[0][1:]) else m[0],
                               value)
            lines.append(f"  {name} = {{{value}}}")
        return f"@{self.kind}{{{self.key},\n" + ",\n".join(lines) + "\n}"

    @property
    def surnames(self) -> tuple[str, ...]:
        return tuple(author.split(",", 1)[0].strip() for author in self.authors)

    @property
    def venue(self) -> str:
        """Where it appeared: the proceedings (with pages) or the archive and preprint id."""
        if self.booktitle:
            return self.booktitle + (f", pp. {self.pages}" if self.pages else "")
        if self.eprint:
            return f"{self.archiveprefix} {self.eprint}"
        return ""

    @property
    def text(self) -> str:
        """One line: ``Surname, Surname. Title. Venue, year.``"""
        venue = self.venue
        return f"{', '.join(self.surnames)}. {self.title}. {venue + ', ' if venue else ''}{self.year}."


def _register(*entries: Citation) -> dict[str, Citation]:
    registry: dict[str, Citation] = {}
    for c in entries:
        if c.key in registry:
            raise ValueError(f"citation key {c.key!r} is registered twice in avbench/citations.py; "
                             "give each paper one entry and one key")
        registry[c.key] = c
    return registry


CITATIONS: dict[str, Citation] = _register(
    Citation(
        "f5c2026", "misc",
        title="Micro-Expression-Aware Avatar Fingerprinting via Inter-Frame Feature Differencing",
        authors=("Chapariniya, Masoumeh", "Odobez, Jean-Marc", "Dellwo, Volker", "Vuković, Teodora"),
        year=2026, eprint="2604.23247", archiveprefix="arXiv", primaryclass="cs.CV"),
    Citation(
        "nvfair2024", "inproceedings",
        title="Avatar Fingerprinting for Authorized Use of Synthetic Talking-Head Videos",
        authors=("Prashnani, Ekta", "Nagano, Koki", "De Mello, Shalini", "Luebke, David", "Gallo, Orazio"),
        year=2024, booktitle="European Conference on Computer Vision (ECCV)", pages="209–228",
        eprint="2305.03713", archiveprefix="arXiv", primaryclass="cs.CV"),
    Citation(
        "avaprintdb2026", "misc",
        title="Leveraging Avatar Fingerprinting: A Multi-Generator Photorealistic Talking-Head Public "
              "Database and Benchmark",
        authors=("Pedrouzo-Rodriguez, Laura", "Gomez, Luis F.", "Tolosana, Ruben", "Vera-Rodriguez, Ruben",
                 "Daza, Roberto", "Morales, Aythami", "Fierrez, Julian"),
        year=2026, eprint="2603.26934", archiveprefix="arXiv", primaryclass="cs.CV"),
    Citation(
        "stgcn2018", "inproceedings",
        title="Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition",
        authors=("Yan, Sijie", "Xiong, Yuanjun", "Lin, Dahua"),
        year=2018, booktitle="AAAI Conference on Artificial Intelligence",
        eprint="1801.07455", archiveprefix="arXiv", primaryclass="cs.CV"),
    Citation(
        "mediapipe_facemesh2019", "misc",
        title="Real-time Facial Surface Geometry from Monocular Video on Mobile GPUs",
        authors=("Kartynnik, Yury", "Ablavatski, Artsiom", "Grishchenko, Ivan", "Grundmann, Matthias"),
        year=2019, eprint="1907.06724", archiveprefix="arXiv", primaryclass="cs.CV"),
    Citation(
        "fan2017", "inproceedings",
        title="How Far Are We From Solving the 2D & 3D Face Alignment Problem? (and a Dataset of 230,000 3D "
              "Facial Landmarks)",
        authors=("Bulat, Adrian", "Tzimiropoulos, Georgios"),
        year=2017, booktitle="IEEE International Conference on Computer Vision (ICCV)"),
)


def is_key(ref: str) -> bool:
    return ref in CITATIONS


def get(key: str) -> Citation:
    """The registered citation ``key``; an unknown key is an error listing the keys."""
    try:
        return CITATIONS[key]
    except KeyError:
        close = difflib.get_close_matches(key, CITATIONS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"citation key {key!r} is not in avbench.citations.{hint} Registered keys: "
                       f"{', '.join(CITATIONS)}; add a Citation for the paper there") from None


def cite(ref: str) -> str:
    """The one-line text of a registered key; any other string (a third-party plugin's
    free-text citation) unchanged."""
    return CITATIONS[ref].text if ref in CITATIONS else ref
