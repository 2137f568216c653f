"""The page each patients API operation stands for (tests/test_api_access.py checks them against ACCESS)."""

TWINS = {
    ("patients_api:patient-list", "GET"): "patients:list",
    ("patients_api:patient-list", "POST"): "patients:create",
    ("patients_api:patient-detail", "GET"): "patients:detail",
    ("patients_api:patient-detail", "PUT"): "patients:edit",
    ("patients_api:patient-detail", "PATCH"): "patients:edit",
    ("patients_api:patient-archive", "POST"): "patients:archive",
    ("patients_api:patient-restore", "POST"): "patients:restore",
    ("patients_api:patient-add-allergy", "POST"): "patients:allergy_create",
    ("patients_api:patient-add-condition", "POST"): "patients:condition_create",
}
