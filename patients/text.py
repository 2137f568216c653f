"""Normalising names and numbers so search is case- and accent-insensitive on every database."""

import re

from unidecode import unidecode

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """'Zoë  O'Brien-Núñez' -> 'zoe o brien nunez'."""
    return _NOT_ALNUM.sub(" ", unidecode(text or "").lower()).strip()


def digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")
