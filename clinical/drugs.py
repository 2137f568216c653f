"""Which drug a prescription or an allergy names, and why a drug conflicts with an allergy.

The knowledge is data (clinical/data/drug_classes.toml, with its sources); this module reads it once
and matches names the way a doctor writes them: case, accents, hyphens, spacing, strengths and forms
("Co-Amoxiclav 625mg tablets") do not matter, and other names (brands, US spellings) lead to the
generic. A drug conflicts with an allergy when they are the same substance, share a class, or belong
to classes the table lists as cross-reactive; combination products count by each component.
"""

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from patients.text import fold

TABLE = Path(__file__).resolve().parent / "data" / "drug_classes.toml"


def key(name: str) -> str:
    """One spelling for lookups: "Co-Amoxiclav" and "co amoxiclav" -> "coamoxiclav"."""
    return fold(name).replace(" ", "")


@dataclass(frozen=True)
class DrugClass:
    id: str
    label: str
    names: tuple[str, ...]
    members: tuple[str, ...]
    cross_reactive: tuple[str, ...]


@dataclass
class Table:
    classes: dict[str, DrugClass]
    combinations: dict[str, tuple[str, ...]]
    synonyms: dict[str, str]
    # key -> ("class", id) | ("substance", generic) | ("combination", name)
    index: dict[str, tuple[str, str]] = field(default_factory=dict)
    classes_of: dict[str, set[str]] = field(default_factory=dict)
    cross: set[tuple[str, str]] = field(default_factory=set)
    longest: int = 1

    def add(self, name: str, meaning: tuple[str, str]):
        # A name meaning two things would make the warning depend on table order: refused.
        known = self.index.setdefault(key(name), meaning)
        if known != meaning:
            raise ValueError(f"{name!r} means both {known} and {meaning} in {TABLE.name}")
        self.longest = max(self.longest, len(fold(name).split()))


def build(data: dict) -> Table:
    """The lookups behind the matcher, refusing a table that is inconsistent."""
    classes = {
        cid: DrugClass(
            id=cid,
            label=spec["label"],
            names=tuple(spec.get("names", ())),
            members=tuple(spec.get("members", ())),
            cross_reactive=tuple(spec.get("cross_reactive", ())),
        )
        for cid, spec in data.get("classes", {}).items()
    }
    table = Table(
        classes=classes,
        combinations={name: tuple(parts) for name, parts in data.get("combinations", {}).items()},
        synonyms=dict(data.get("synonyms", {})),
    )
    for cls in classes.values():
        for name in cls.names:
            table.add(name, ("class", cls.id))
        for member in cls.members:
            table.add(member, ("substance", member))
            table.classes_of.setdefault(member, set()).add(cls.id)
        for other in cls.cross_reactive:
            if other not in classes:
                raise ValueError(f"{cls.id} is cross-reactive with unknown class {other!r}")
            table.cross |= {(cls.id, other), (other, cls.id)}
    for name, parts in table.combinations.items():
        table.add(name, ("combination", name))
        for part in parts:
            table.add(part, ("substance", part))
    for name, target in table.synonyms.items():
        if key(target) not in table.index:
            raise ValueError(f"synonym {name!r} leads to {target!r}, which the table does not know")
        table.add(name, table.index[key(target)])
    return table


@lru_cache(maxsize=1)
def table() -> Table:
    with TABLE.open("rb") as f:
        return build(tomllib.load(f))


@dataclass(frozen=True)
class Named:
    """What a written name resolves to: its generic substances and the classes it belongs to."""

    substances: frozenset[str] = frozenset()
    # class id -> the substance that puts the name in it ("" when the name is the class itself)
    classes: tuple[tuple[str, str], ...] = ()

    @property
    def class_ids(self):
        return {cid for cid, _ in self.classes}


@lru_cache(maxsize=4096)
def resolve(name: str) -> Named:
    """Known names in `name`, longest first, left to right ("co amoxiclav 625 mg" -> co-amoxiclav)."""
    t = table()
    words = fold(name).split()
    substances, classes = set(), {}
    i = 0
    while i < len(words):
        for n in range(min(t.longest, len(words) - i), 0, -1):
            meaning = t.index.get("".join(words[i : i + n]))
            if meaning:
                break
        else:
            i += 1
            continue
        i += n
        kind, value = meaning
        if kind == "class":
            classes.setdefault(value, "")
            continue
        parts = t.combinations[value] if kind == "combination" else (value,)
        for part in parts:
            substances.add(part)
            for cid in sorted(t.classes_of.get(part, ())):
                classes.setdefault(cid, part)
    return Named(frozenset(substances), tuple(sorted(classes.items())))


def conflict_reason(drug: str, substance: str) -> str | None:
    """Why prescribing `drug` is a risk for someone allergic to `substance`, or None."""
    drug_text = " ".join((drug or "").split())
    d, a = fold(drug), fold(substance)
    if not (d and a):
        return None
    if d == a:
        return "the same drug"
    t = table()
    given, allergen = resolve(drug), resolve(substance)
    several = len(given.substances) > 1

    same = sorted(given.substances & allergen.substances)
    if same:
        return f"{drug_text} {'contains' if several else 'is'} {same[0]}"
    allergen_classes = allergen.class_ids
    for cid, via in given.classes:
        if cid in allergen_classes:
            label = t.classes[cid].label
            return f"{drug_text} contains {via}, {label}" if several and via else f"{drug_text} is {label}"
    for cid, via in given.classes:
        for other in sorted(allergen_classes):
            if (cid, other) in t.cross:
                label, other_label = t.classes[cid].label, t.classes[other].label
                what = f"contains {via}, {label}" if several and via else f"is {label}"
                return f"{drug_text} {what}, which can cross-react with {other_label}"
    # Names the table does not know still warn when one contains the other ("Ibuprofen 400" / "ibuprofène").
    if a in d or d in a:
        return "the names match"
    return None
