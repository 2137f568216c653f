"""Serving a private stored file through a view that has already checked who may see it."""

from django.http import FileResponse

_SHOWN_INLINE = {"application/pdf", "image/jpeg", "image/png", "image/webp"}


def private_file_response(field_file, *, content_type, filename, as_attachment=False):
    """Stream a file from the storage backend (local disk or S3) with headers that keep it inert.

    The type is the one found when the file was checked, never guessed again; nosniff stops a
    browser from second-guessing it; images get a sandbox policy (no script, no same-origin
    access). PDFs are left without one: Chromium's viewer does not run in a sandboxed document,
    and PDFs with scripts are refused at upload.
    """
    known = content_type in _SHOWN_INLINE
    response = FileResponse(
        field_file.open("rb"),
        content_type=content_type if known else "application/octet-stream",
        as_attachment=as_attachment or not known,
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if content_type.startswith("image/"):
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response
