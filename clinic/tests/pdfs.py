"""Hand-built PDFs for the upload tests: each object written as given, with a correct cross-reference."""

import zlib

HEADER = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"


def pdf(*objects, root=1):
    """A PDF whose objects 1, 2, 3... have the given bodies, listed in a classic xref table."""
    out = bytearray(HEADER)
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, start)
    return bytes(out)


def pdf_with_object_stream(plain, packed, root=1):
    """A PDF 1.5 file: objects 1..len(plain) written as usual, the next ones packed into one
    zlib-compressed object stream, and the cross-reference itself a compressed /XRef stream."""
    out = bytearray(HEADER)
    offsets = {}
    for number, body in enumerate(plain, 1):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    first_packed = len(plain) + 1
    stream_number, xref_number = first_packed + len(packed), first_packed + len(packed) + 1
    index, bodies = [], b""
    for number, body in enumerate(packed, first_packed):
        index.append(b"%d %d" % (number, len(bodies)))
        bodies += body + b"\n"
    head = b" ".join(index) + b"\n"
    data = zlib.compress(head + bodies)
    offsets[stream_number] = len(out)
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n" % (
        stream_number,
        len(packed),
        len(head),
        len(data),
    )
    out += data + b"\nendstream\nendobj\n"
    offsets[xref_number] = len(out)
    rows = b"\x00" + (0).to_bytes(4, "big") + (65535).to_bytes(3, "big")
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows += b"\x01" + offsets[number].to_bytes(4, "big") + b"\x00\x00\x00"
        else:
            rows += b"\x02" + stream_number.to_bytes(4, "big") + (number - first_packed).to_bytes(3, "big")
    data = zlib.compress(rows)
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 3] /Root %d 0 R /Length %d /Filter /FlateDecode >>\n" % (
        xref_number,
        xref_number + 1,
        root,
        len(data),
    )
    out += b"stream\n" + data + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    return bytes(out)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
