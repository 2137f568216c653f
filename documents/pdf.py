"""Letters on the clinic's letterhead as PDF: the layout shared by every printout (documents/printouts.py).

fpdf2 (already the demo's PDF writer; pure Python, no system libraries) draws the pages. Its built-in
fonts are Latin-1 only, so the text is set in fonts shipped in documents/fonts: DejaVu Sans (regular
and bold, cut to Latin, Greek and Cyrillic) and, only for a document that needs it, Droid Sans
Fallback for Chinese, Japanese and Korean (fonts/NOTICE-printouts.txt: where they come from, licences).
A character none of them has is transliterated (Unidecode), so any name prints and nothing raises.

A letter is deterministic: the same content on the same day gives the same bytes (the creation date
is the day of issue, the file id follows from the content), so filing one twice is recognised as the
same file.
"""

import datetime
import functools
import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from unidecode import unidecode

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "DejaVuSans-LatinGreekCyrillic.ttf"
BOLD = FONTS / "DejaVuSans-Bold-LatinGreekCyrillic.ttf"
CJK = FONTS / "DroidSansFallback-CJK.ttf"
# fpdf2 subsets fonts through fontTools, which logs every table it touches at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)
RIGHT_TO_LEFT = {"R", "AL", "AN"}
INK, MUTED, RULE = (20, 30, 40), (90, 98, 110), (170, 178, 190)


@functools.cache
def _characters(path):
    return frozenset(TTFont(path, lazy=True).getBestCmap())


@functools.cache
def _main_characters():
    """What both DejaVu cuts (regular and bold) print."""
    return _characters(REGULAR) & _characters(BOLD)


def _printable_char(char, main, cjk):
    if char == "\n":
        return char
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return " " if char in "\t\r\x0b\x0c\u2028\u2029" else ""
    if unicodedata.bidirectional(char) in RIGHT_TO_LEFT:
        # Without text shaping Hebrew and Arabic would come out backwards and unjoined.
        return unidecode(char) or "?"
    code = ord(char)
    if code in main or code in cjk:
        return char
    return unidecode(char) or "?"


def printable(text, *, needs_cjk=None):
    """`text` as the shipped fonts can print it (see the module docstring)."""
    main, cjk = _main_characters(), _characters(CJK)
    text = unicodedata.normalize("NFC", str(text or ""))
    out = "".join(_printable_char(char, main, cjk) for char in text)
    if needs_cjk is not None and any(ord(char) in cjk and ord(char) not in main for char in out):
        needs_cjk.append(True)
    return out


@dataclass
class Letter:
    """What a printout says; `render()` lays it out on the letterhead."""

    title: str
    reference: str
    issued_on: datetime.date
    patient: list  # [(label, value)]
    blocks: list = field(default_factory=list)  # ("heading", text) | ("text", text) | ("pairs", [...]) | ("table", ...)
    signatory: list = field(default_factory=list)  # lines under the signature
    subject: str = ""

    def heading(self, text):
        self.blocks.append(("heading", text))

    def text(self, text):
        self.blocks.append(("text", text))

    def pairs(self, pairs):
        self.blocks.append(("pairs", [(label, value) for label, value in pairs if value not in (None, "")]))

    def table(self, headings, rows, widths):
        self.blocks.append(("table", (headings, rows, widths)))

    def strings(self):
        """Every string the letter prints (to know which fonts it needs)."""
        yield from (self.title, self.reference, self.subject, *self.signatory)
        for pair in self.patient:
            yield from pair
        for kind, content in self.blocks:
            if kind in ("heading", "text"):
                yield content
            elif kind == "pairs":
                for pair in content:
                    yield from pair
            else:
                headings, rows, _ = content
                yield from headings
                for row in rows:
                    yield from row


def letterhead():
    return {
        "name": settings.CLINIC_NAME,
        "address": settings.CLINIC_LETTERHEAD_ADDRESS,
        "contact": " · ".join(
            part
            for part in (
                settings.CLINIC_LETTERHEAD_PHONE and f"Tel. {settings.CLINIC_LETTERHEAD_PHONE}",
                settings.CLINIC_LETTERHEAD_EMAIL,
            )
            if part
        ),
        "logo": settings.CLINIC_LETTERHEAD_LOGO,
    }


class _Page(FPDF):
    def __init__(self, letter, head, cjk):
        super().__init__(format="A4", unit="mm")
        self.letter, self.head = letter, head
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=22)
        self.add_font("Sans", "", str(REGULAR))
        self.add_font("Sans", "B", str(BOLD))
        if cjk:
            self.add_font("CJK", "", str(CJK))
            self.set_fallback_fonts(["CJK"], exact_match=False)

    def write_lines(self, text, size=10, style="", height=5, color=INK, align="L"):
        self.set_font("Sans", style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height, printable(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def header(self):
        top = self.get_y()
        text_x = self.l_margin
        logo = self.head["logo"]
        if logo:
            try:
                self.image(logo, x=self.l_margin, y=top, h=16)
                text_x = self.l_margin + 22
            except Exception:  # noqa: BLE001 - a missing or unreadable logo must not stop a prescription
                logging.getLogger(__name__).warning("The letterhead logo %r cannot be read; printed without it", logo)
        self.set_x(text_x)
        self.set_font("Sans", "B", 15)
        self.set_text_color(*INK)
        self.cell(0, 7, printable(self.head["name"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for line in (self.head["address"], self.head["contact"]):
            if line:
                self.set_x(text_x)
                self.set_font("Sans", "", 9)
                self.set_text_color(*MUTED)
                self.cell(0, 4.5, printable(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(max(self.get_y(), top + 17) + 2)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(5)

    def footer(self):
        self.set_y(-15)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)
        self.set_font("Sans", "", 8)
        self.set_text_color(*MUTED)
        left = f"{self.letter.title} · Document {self.letter.reference} · {self.letter.issued_on:%d %b %Y}"
        self.cell(0, 4, printable(left), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")


def render(letter, head=None):
    """The letter as PDF bytes."""
    head = head or letterhead()
    needs_cjk = []
    for text in (*letter.strings(), head["name"], head["address"], head["contact"]):
        printable(text, needs_cjk=needs_cjk)
        if needs_cjk:
            break
    pdf = _Page(letter, head, cjk=bool(needs_cjk))
    pdf.set_title(printable(f"{letter.title} {letter.reference}"))
    pdf.set_subject(printable(letter.subject or letter.title))
    pdf.set_author(printable(head["name"]))
    pdf.set_creator(printable(head["name"]))
    issued = datetime.datetime.combine(letter.issued_on, datetime.time(12), tzinfo=datetime.UTC)
    pdf.set_creation_date(issued)
    pdf.add_page()
    _title(pdf, letter)
    _pairs(pdf, letter.patient)
    pdf.ln(3)
    for kind, content in letter.blocks:
        if kind == "heading":
            pdf.ln(2)
            pdf.write_lines(content, size=11, style="B", height=6)
        elif kind == "text":
            pdf.write_lines(content)
            pdf.ln(1)
        elif kind == "pairs":
            _pairs(pdf, content)
        else:
            _table(pdf, *content)
    _signature(pdf, letter)
    return bytes(pdf.output())


def _title(pdf, letter):
    y = pdf.get_y()
    pdf.set_font("Sans", "B", 16)
    pdf.set_text_color(*INK)
    pdf.cell(0, 8, printable(letter.title))
    pdf.set_xy(pdf.l_margin, y)
    pdf.set_font("Sans", "", 9)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4.5, printable(f"Document {letter.reference}"), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(0, 4.5, f"Date {letter.issued_on:%d %B %Y}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _pairs(pdf, pairs):
    """Label and value side by side (the labels are the app's own short words)."""
    for label, value in pairs:
        pdf.set_font("Sans", "B", 9.5)
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(42, 5, printable(label), new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_font("Sans", "", 10)
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 5, printable(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf, headings, rows, widths):
    pdf.set_font("Sans", "", 9)
    pdf.set_text_color(*INK)
    pdf.set_draw_color(*RULE)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=4.8,
        padding=1.2,
        headings_style=_headings_style(),
        first_row_as_headings=True,
    ) as table:
        table.row([printable(h) for h in headings])
        for values in rows:
            table.row([printable(v) for v in values])
    pdf.ln(2)


def _headings_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(236, 239, 243))


def _signature(pdf, letter):
    if pdf.get_y() > pdf.h - 60:
        pdf.add_page()
    pdf.ln(10)
    pdf.set_draw_color(*INK)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 70, pdf.get_y())
    pdf.ln(1.5)
    for index, line in enumerate(letter.signatory):
        pdf.write_lines(line, size=10 if index == 0 else 9, style="B" if index == 0 else "", height=5)
