"""The demo's PDFs: any name prints (or, where the font cannot, is transliterated), and the file
passes the same checks as an upload."""

import re
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from clinic.uploads import check_upload
from demo.management.commands.seed_demo import DOCTORS
from documents.demo import printable, text_pdf
from patients.demo import FIRST_NAMES, LAST_NAMES
from staff.demo import DEMO_USERS

_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def _unescape(literal):
    """The bytes of a PDF literal string (backslash escapes and octal codes undone)."""
    return re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else _ESCAPES.get(m.group(1), m.group(1)),
        literal,
        flags=re.DOTALL,
    )


def pdf_lines(data):
    """The text of each line shown on the page, read back through the font's ToUnicode map."""
    cmap = {}
    for code, unicode in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]{4,8})>", data):
        cmap[int(code, 16)] = bytes.fromhex(unicode.decode()).decode("utf-16-be")
    lines = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.DOTALL):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for literal in re.findall(rb"\(((?:\\.|[^\\)])*)\) Tj", content, re.DOTALL):
            codes = _unescape(literal)
            lines.append("".join(cmap[int.from_bytes(codes[i : i + 2], "big")] for i in range(0, len(codes), 2)))
    return lines


DEMO_NAMES = sorted(
    {first for first, _ in FIRST_NAMES}
    | set(LAST_NAMES)
    | {f"{first} {last}" for _, first, last, *_ in DOCTORS}
    | {f"{u.first_name} {u.last_name}" for u in DEMO_USERS}
)


def test_every_demo_name_prints_as_written():
    lines = [f"Form C-300: I, {name}, consent (signed)." for name in DEMO_NAMES]
    data = text_pdf("Consent forms, 05 Dec 2026", lines)

    assert pdf_lines(data) == ["Consent forms, 05 Dec 2026", *lines]
    assert (
        "Form C-300: I, Łukasz, consent (signed)." in lines and "Form C-300: I, Linh Nguyễn, consent (signed)." in lines
    )


@pytest.mark.parametrize(
    "name",
    ["Ζωή Παπαδοπούλου", "Дмитрий Иванов", "Łukasz Nguyễn", "Zoë O'Brien-Núñez", "Ærøskøbing Straße", "Nguyễn Thị Ánh"],
)
def test_greek_cyrillic_and_extended_latin_print_in_the_font(name):
    assert printable(name) == name
    assert pdf_lines(text_pdf(name, [])) == [name]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("王小明", "Wang Xiao Ming "),
        ("山田太郎", "Shan Tian Tai Lang "),
        ("محمد", "mHmd"),
        ("שלום", "SHlvm"),
        ("Jo 😀", "Jo ?"),
    ],
)
def test_scripts_the_font_cannot_set_are_transliterated(name, shown):
    # CJK and emoji are not in the font; Arabic and Hebrew would need text shaping and right-to-left layout.
    assert printable(name) == shown
    assert pdf_lines(text_pdf(f"Consent form: {name}", [name])) == [f"Consent form: {shown}", shown]


def test_a_character_with_no_transliteration_becomes_a_question_mark():
    assert printable("A\U000e0041B") == "A?B"  # a tag character: no glyph, nothing in Unidecode


def test_the_demo_pdf_passes_the_upload_checks():
    data = text_pdf("Referral letter: Łukasz Müller (Ζωή) <script>", ["Dear colleague (see attached) \\ /JS"])
    checked = check_upload(SimpleUploadedFile("referral.pdf", data, content_type="application/pdf"))

    assert checked.content_type == "application/pdf"
    assert data.startswith(b"%PDF-") and b"/JavaScript" not in data and b"/EmbeddedFile" not in data
