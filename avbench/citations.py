"""Citations as data: one registry of BibTeX entries, keyed by a short id.

Methods, protocols, datasets and reported figures name a key (``"nvfair2024"``)
instead of carrying their own free-text reference, so a paper is cited the same
way everywhere (the board's sources, ``avbench list``, the README) and a wrong
author list is fixed in one place (MTEB keeps a ``bibtex_citation`` per task for
the same reason).  The BibTeX is the source of truth; the one-line text shown on a
board is derived from it by :meth:`Citation.text`.

Third-party plugins may still give free text as a spec's ``citation``:
:func:`cite` returns a registered key's text and any other string unchanged.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

__all__ = ["CITATIONS", "Citation", "cite", "get", "is_key", "parse_bibtex"]


def parse_bibtex(text: str) -> tuple[str, str, dict[str, str]]:
    """One BibTeX entry: ``(entry type, key, fields)``; field names lower-cased, values
    without their outer braces or quotes.

    Only what the registry needs: a single ``@type{key, name = {value}, ...}`` entry
    whose values are braced (nested braces allowed), quoted or bare words.  Anything
    else raises ``ValueError`` naming the entry and the offending position, so a typo
    in the registry fails its test instead of printing a truncated reference.
    """
    head = re.match(r"\s*@(\w+)\s*\{\s*([^\s,{}]+)\s*,", text)
    if head is None:
        raise ValueError(f"not a BibTeX entry (expected '@type{{key,'): {text[:40]!r}")
    kind, key = head[1].lower(), head[2]
    fields: dict[str, str] = {}
    pos = head.end()
    while True:
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == "}":
            if text[pos + 1:].strip():
                raise ValueError(f"BibTeX entry {key}: text after the closing brace at {pos}")
            return kind, key, fields
        name = re.compile(r"([A-Za-z][\w-]*)\s*=\s*").match(text, pos)
        if name is None:
            raise ValueError(f"BibTeX entry {key}: expected 'field = value' at {pos}: {text[pos:pos + 30]!r}")
        field_name, pos = name[1].lower(), name.end()
        if field_name in fields:
            raise ValueError(f"BibTeX entry {key}: field {field_name!r} given twice")
        value, pos = _value(text, pos, key)
        fields[field_name] = value
        pos = _skip_space(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos >= len(text) or text[pos] != "}":
            raise ValueError(f"BibTeX entry {key}: expected ',' or '}}' after field {field_name!r} at {pos}")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _value(text: str, pos: int, key: str) -> tuple[str, int]:
    if pos < len(text) and text[pos] in "{\"":
        close = "}" if text[pos] == "{" else "\""
        depth, i = 0, pos + 1
        while i < len(text):
            ch = text[i]
            if ch == "{":
                depth += 1
            elif ch == "}" and (depth > 0 or close == "\""):
                if depth == 0:
                    raise ValueError(f"BibTeX entry {key}: unbalanced '}}' in a quoted value at {i}")
                depth -= 1
            elif ch == close and depth == 0:
                return text[pos + 1:i], i + 1
            i += 1
        raise ValueError(f"BibTeX entry {key}: value opened at {pos} is never closed")
    bare = re.compile(r"[\w.:-]+").match(text, pos)
    if bare is None:
        raise ValueError(f"BibTeX entry {key}: expected a value at {pos}")
    return bare[0], bare.end()


# LaTeX accents used in author names -> combining characters (normalised to NFC afterwards).
_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "v": "\u030c"}


def latex_to_text(value: str) -> str:
    """Plain text of a BibTeX value: accents such as ``{\\'c}`` become ``ć``, ``\\&`` becomes
    ``&``, protective braces and runs of white space go."""
    def accent(m: re.Match) -> str:
        return m[2] + _ACCENTS[m[1]]

    text = re.sub(r"\{?\\([`'^\"~v])\{?([A-Za-z])\}?\}?", accent, value)
    text = text.replace("\\&", "&").replace("--", "–").replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


@dataclass(frozen=True)
class Citation:
    """One registered reference: its key and its BibTeX entry (whose key must match)."""

    key: str
    bibtex: str

    @cached_property
    def entry(self) -> tuple[str, dict[str, str]]:
        """``(entry type, fields)`` of :attr:`bibtex`, checked to carry :attr:`key`."""
        kind, key, fields = parse_bibtex(self.bibtex)
        if key != self.key:
            raise ValueError(f"citation {self.key!r}: its BibTeX entry is keyed {key!r}")
        return kind, fields

    @property
    def fields(self) -> dict[str, str]:
        return self.entry[1]

    @property
    def surnames(self) -> list[str]:
        """Authors' family names in order (``Last, First`` or ``First Last`` forms)."""
        names = []
        for author in re.split(r"\s+and\s+", self.fields["author"]):
            author = latex_to_text(author)
            names.append(author.split(",", 1)[0].strip() if "," in author else author.split()[-1])
        return names

    @property
    def venue(self) -> str:
        f = self.fields
        if "booktitle" in f or "journal" in f:
            venue = latex_to_text(f.get("booktitle") or f["journal"])
            return venue + (f", pp. {latex_to_text(f['pages'])}" if "pages" in f else "")
        if f.get("archiveprefix", "").lower() == "arxiv" and "eprint" in f:
            return f"arXiv {f['eprint']}"
        return latex_to_text(f.get("howpublished") or f.get("publisher") or "")

    @property
    def text(self) -> str:
        """One line: ``Surname, Surname. Title. Venue, year.``"""
        venue = self.venue
        return (f"{', '.join(self.surnames)}. {latex_to_text(self.fields['title'])}. "
                f"{venue + ', ' if venue else ''}{self.fields['year']}.")


def _register(*entries: Citation) -> dict[str, Citation]:
    registry: dict[str, Citation] = {}
    for c in entries:
        if c.key in registry:
            raise ValueError(f"citation key {c.key!r} is registered twice")
        registry[c.key] = c
    return registry


CITATIONS: dict[str, Citation] = _register(
    Citation("f5c2026", """@misc{f5c2026,
  author = {Chapariniya, Masoumeh and Odobez, Jean-Marc and Dellwo, Volker and Vukovi{\\'c}, Teodora},
  title = {Micro-Expression-Aware Avatar Fingerprinting via Inter-Frame Feature Differencing},
  year = {2026},
  eprint = {2604.23247},
  archivePrefix = {arXiv},
  primaryClass = {cs.CV}
}"""),
    Citation("nvfair2024", """@inproceedings{nvfair2024,
  author = {Prashnani, Ekta and Nagano, Koki and De Mello, Shalini and Luebke, David and Gallo, Orazio},
  title = {Avatar Fingerprinting for Authorized Use of Synthetic Talking-Head Videos},
  booktitle = {European Conference on Computer Vision (ECCV)},
  pages = {209--228},
  year = {2024}
}"""),
    Citation("avaprintdb2026", """@misc{avaprintdb2026,
  author = {Pedrouzo-Rodriguez, Laura and Gomez, Luis F. and Tolosana, Ruben and Vera-Rodriguez, Ruben and Daza, Roberto and Morales, Aythami and Fierrez, Julian},
  title = {Leveraging Avatar Fingerprinting: A Multi-Generator Photorealistic Talking-Head Public Database and Benchmark},
  year = {2026},
  eprint = {2603.26934},
  archivePrefix = {arXiv},
  primaryClass = {cs.CV}
}"""),
    Citation("stgcn2018", """@inproceedings{stgcn2018,
  author = {Yan, Sijie and Xiong, Yuanjun and Lin, Dahua},
  title = {Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition},
  booktitle = {AAAI Conference on Artificial Intelligence},
  year = {2018}
}"""),
    Citation("mediapipe_facemesh2019", """@misc{mediapipe_facemesh2019,
  author = {Kartynnik, Yury and Ablavatski, Artsiom and Grishchenko, Ivan and Grundmann, Matthias},
  title = {Real-time Facial Surface Geometry from Monocular Video on Mobile {GPUs}},
  year = {2019},
  eprint = {1907.06724},
  archivePrefix = {arXiv},
  primaryClass = {cs.CV}
}"""),
    Citation("fan2017", """@inproceedings{fan2017,
  author = {Bulat, Adrian and Tzimiropoulos, Georgios},
  title = {How Far Are We From Solving the {2D} \\& {3D} Face Alignment Problem? (and a Dataset of 230,000 {3D} Facial Landmarks)},
  booktitle = {IEEE International Conference on Computer Vision (ICCV)},
  year = {2017}
}"""),
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
                       f"{', '.join(CITATIONS)}; add the paper's BibTeX entry there") from None


def cite(ref: str) -> str:
    """The one-line text of a registered key; any other string (a third-party plugin's
    free-text citation) unchanged."""
    return CITATIONS[ref].text if ref in CITATIONS else ref
