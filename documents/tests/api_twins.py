"""The page each documents API operation stands for (tests/test_api_access.py checks them against ACCESS)."""

TWINS = {
    ("documents_api:document-list", "GET"): "documents:patient",
    ("documents_api:document-list", "POST"): "documents:upload",
    ("documents_api:document-detail", "GET"): "documents:detail",
    ("documents_api:document-replace", "POST"): "documents:replace",
    ("documents_api:document-file", "GET"): "documents:download",
    ("documents_api:document-archive", "POST"): "documents:archive",
    ("documents_api:document-restore", "POST"): "documents:restore",
    ("documents_api:image-list", "GET"): "documents:gallery",
    ("documents_api:image-list", "POST"): "documents:image_upload",
    ("documents_api:image-detail", "GET"): "documents:image",
    ("documents_api:image-file", "GET"): "documents:image_file",
    ("documents_api:image-thumbnail", "GET"): "documents:image_thumbnail",
    ("documents_api:image-archive", "POST"): "documents:image_archive",
    ("documents_api:image-restore", "POST"): "documents:image_restore",
}
