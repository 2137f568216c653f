"""Normalising names and numbers so search is case- and accent-insensitive on every database."""

import re

from unidecode import unidecode

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
# After unidecode every apostrophe (’ ʼ ‘ ´) is one of these.
_APOSTROPHES = re.compile(r"['`]")


def fold(text: str) -> str:
    """'Zoë  O'Brien-Núñez' -> 'zoe o brien nunez'."""
    return _NOT_ALNUM.sub(" ", unidecode(text or "").lower()).strip()


def fold_joined(text: str) -> str:
    """Folded with the apostrophes taken out, not made spaces: 'Zoë O'Brien-Núñez' -> 'zoe obrien nunez'.

    A receptionist types O'Brien as "ob", "o'b", "obrien" or "O’Brien"; each is then the start of one word."""
    return fold(_APOSTROPHES.sub("", unidecode(text or "")))


def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")
