from django.urls import path

from . import printout_views, views

app_name = "documents"

urlpatterns = [
    path("patients/<int:patient_pk>/", views.PatientDocumentsView.as_view(), name="patient"),
    path("patients/<int:patient_pk>/upload/", views.UploadDocumentView.as_view(), name="upload"),
    path("patients/<int:patient_pk>/images/", views.GalleryView.as_view(), name="gallery"),
    path("patients/<int:patient_pk>/images/upload/", views.UploadImageView.as_view(), name="image_upload"),
    path("patients/<int:patient_pk>/archived/", views.ArchivedItemsView.as_view(), name="archived"),
    path("<int:pk>/", views.DocumentDetailView.as_view(), name="detail"),
    path("<int:pk>/replace/", views.ReplaceDocumentView.as_view(), name="replace"),
    path("<int:pk>/archive/", views.ArchiveDocumentView.as_view(), name="archive"),
    path("<int:pk>/restore/", views.RestoreDocumentView.as_view(), name="restore"),
    path("versions/<int:pk>/file/", views.DownloadVersionView.as_view(), name="download"),
    path("images/<int:pk>/", views.ImageDetailView.as_view(), name="image"),
    path("images/<int:pk>/file/", views.ImageFileView.as_view(), name="image_file"),
    path("images/<int:pk>/thumbnail/", views.ImageFileView.as_view(thumbnail=True), name="image_thumbnail"),
    path("images/<int:pk>/archive/", views.ArchiveImageView.as_view(), name="image_archive"),
    path("images/<int:pk>/restore/", views.RestoreImageView.as_view(), name="image_restore"),
    # Printed from a signed record (the record's page offers them): PDF on GET, filed on POST.
    path("records/<int:pk>/print/<slug:kind>/", printout_views.RecordPrintoutView.as_view(), name="record_printout"),
    path("records/<int:pk>/letter/<slug:kind>/", printout_views.RecordLetterView.as_view(), name="record_letter"),
]
