"""ICD-10 codes and their titles, for the record's code field: look a code up, search by code or words.

The list is ICD-10-CM (the US clinical modification of WHO's ICD-10, published by CDC's NCHS and CMS,
in the public domain), as shipped in the `simple-icd-10-cm` package (MIT; it follows each yearly
release: upgrading the package pin brings the new codes). Only the package's data file is read, not
its Python module, which builds a tree of every note on import (1.6 s and ~170 MB per process);
reading just codes and titles takes a fraction of that and is done once per process, on first use.

Codes are categories ("J02"), subcategories ("J02.9") and, where the list defines a seventh
character, the full codes ("S52.501A"); chapters and blocks ("J00-J06") are not codes to record.
"""

import bisect
import heapq
import importlib.util
import re
import xml.etree.ElementTree as ET
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from patients.text import fold

SOURCE = "ICD-10-CM (CDC/NCHS and CMS, public domain) via simple-icd-10-cm"
DATA_FILE = "icd10c-tabular-April-1-2026.xml"
CODE_LIST = "code-list-April-2026.txt"
MAX_RESULTS = 20

_CODE_LIKE = re.compile(r"^[A-Z][0-9][0-9A-Z]\.?[0-9A-Z]{0,4}$")
_WORD = re.compile(r"[a-z0-9]+")


def _data_dir() -> Path:
    # find_spec locates the package without importing it (its import parses the whole tree).
    spec = importlib.util.find_spec("simple_icd_10_cm")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def dotless(code: str) -> str:
    return code.replace(".", "").strip().upper()


@dataclass
class CodeList:
    codes: list[str]  # in the tabular list's order (which is code order)
    titles: list[str]
    by_dotless: dict[str, int]
    sorted_dotless: list[str]  # for prefix search by code
    sorted_positions: array
    words: list[str]  # sorted distinct words of the titles, for prefix search by word
    postings: dict[str, array]

    def __len__(self):
        return len(self.codes)


def _read_codes(xml_path: Path, confirmed: set[str]) -> list[tuple[str, str]]:
    """(code, title) for each <diag> of the tabular list, in its order, with the seventh-character
    codes its list defines (on the code or an ancestor) where the code has no subdivisions.

    Read as a stream, each code's element dropped once read: the whole tree would take ~100 MB."""
    out = []
    stack = []  # one frame per open <section> or <diag>: [tag, name, desc, seventh, has_child, emitted]

    def emit(frame):
        if frame[0] == "diag" and not frame[5]:
            out.append((frame[1], frame[2] or ""))
            frame[5] = True

    # The file ships inside a pinned package (trusted data, not user input).
    for event, element in ET.iterparse(xml_path, events=("start", "end")):  # noqa: S314
        tag = element.tag
        if event == "start":
            if tag in ("section", "diag"):
                parent = stack[-1] if stack else None
                if parent is not None and tag == "diag":
                    parent[4] = True
                    emit(parent)  # a code before its subdivisions
                stack.append([tag, None, None, parent[3] if parent else None, False, False])
            continue
        frame = stack[-1] if stack else None
        if tag == "name" and frame is not None and frame[1] is None:
            frame[1] = element.text
        elif tag == "desc" and frame is not None and frame[2] is None:
            frame[2] = element.text
        elif tag == "sevenChrDef" and frame is not None:
            frame[3] = {e.get("char"): (e.text or "") for e in element.findall("extension")}
        elif tag in ("section", "diag"):
            stack.pop()
            if tag == "diag":
                emit(frame)
                name, desc, seventh = frame[1], frame[2] or "", frame[3]
                if seventh and not frame[4]:
                    base = (name if len(name) > 3 else name + ".").ljust(7, "X")
                    for char, meaning in seventh.items():
                        full = base + char
                        # The code list names the combinations that really exist (some are excluded).
                        if dotless(full) in confirmed:
                            out.append((full, f"{desc}, {meaning}"))
            element.clear()
        elif tag == "chapter":
            element.clear()
    return out


def build(xml_path: Path, code_list_path: Path) -> CodeList:
    confirmed = {line.split(" ")[0].replace(".", "") for line in code_list_path.read_text().splitlines()}
    pairs = _read_codes(xml_path, confirmed)
    del confirmed
    codes = [code for code, _ in pairs]
    titles = [title for _, title in pairs]
    del pairs
    by_dotless = {dotless(code): i for i, code in enumerate(codes)}
    order = sorted(by_dotless.items())
    postings: dict[str, array] = {}
    for i, title in enumerate(titles):
        for word in set(_WORD.findall(fold(title))):
            postings.setdefault(word, array("I")).append(i)
    return CodeList(
        codes=codes,
        titles=titles,
        by_dotless=by_dotless,
        sorted_dotless=[key for key, _ in order],
        sorted_positions=array("I", (i for _, i in order)),
        words=sorted(postings),
        postings=postings,
    )


@lru_cache(maxsize=1)
def code_list() -> CodeList:
    data = _data_dir()
    return build(data / DATA_FILE, data / CODE_LIST)


def canonical(code: str) -> str | None:
    """The code as the list writes it ("j029" -> "J02.9"), or None when the list has no such code."""
    cl = code_list()
    i = cl.by_dotless.get(dotless(code))
    return None if i is None else cl.codes[i]


def title(code: str) -> str | None:
    cl = code_list()
    i = cl.by_dotless.get(dotless(code))
    return None if i is None else cl.titles[i]


def _prefix_range(sorted_keys, prefix):
    start = bisect.bisect_left(sorted_keys, prefix)
    end = bisect.bisect_left(sorted_keys, prefix + "\uffff")
    return start, end


def search(query: str, limit: int = MAX_RESULTS) -> list[tuple[str, str]]:
    """Codes whose code starts with `query` ("J06", "j06.9"), or whose title has words starting with
    each word of `query` ("pharyngitis", "acute phar"); at most `limit`. Codes come in code order;
    words bring the shortest titles first (the general term before its variants), then code order."""
    query = (query or "").strip()[:100]
    if not query:
        return []
    cl = code_list()
    limit = max(0, min(limit, MAX_RESULTS))
    if _CODE_LIKE.match(query.upper()):
        start, end = _prefix_range(cl.sorted_dotless, dotless(query))
        found = sorted(cl.sorted_positions[start : min(end, start + 500)])
        # A code that starts with the query comes first; a title that happens to match follows.
        if found:
            return [(cl.codes[i], cl.titles[i]) for i in found[:limit]]
    tokens = _WORD.findall(fold(query))[:6]
    if not tokens:
        return []
    matches = None
    for token in sorted(tokens, key=len, reverse=True):
        start, end = _prefix_range(cl.words, token)
        hits = set()
        for word in cl.words[start:end]:
            hits.update(cl.postings[word])
        matches = hits if matches is None else matches & hits
        if not matches:
            return []
    best = heapq.nsmallest(limit, matches, key=lambda i: (len(cl.titles[i]), i))
    return [(cl.codes[i], cl.titles[i]) for i in best]
