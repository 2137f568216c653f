"""Serving a private stored file through a view that has already checked who may see it."""

from django.http import FileResponse

_SHOWN_INLINE = {"application/pdf", "image/jpeg", "image/png", "image/webp"}
# Every stored file is shown in a sandbox: an opaque origin with no scripts, forms, pop-ups or
# plugins of its own, that no page may frame. Whatever slipped past the upload checks cannot act as
# the clinic's site (read its pages, use the signed-in session). Chromium 156's PDF viewer renders
# under this policy (checked with Playwright: the same pages as without it); an image needs only
# itself and the inline styles the browser's image page uses.
_SANDBOX = (
    "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
)


def private_file_response(field_file, *, content_type, filename, as_attachment=False):
    """Stream a file from the storage backend (local disk or S3) with headers that keep it inert.

    The type is the one found when the file was checked, never guessed again; nosniff stops a
    browser from second-guessing it; the sandbox policy above applies to PDFs and images alike.
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
    response["Content-Security-Policy"] = _SANDBOX
    return response
