"""The page each clinical API operation stands for (tests/test_api_access.py checks them against ACCESS)."""

TWINS = {
    # A patient's records, plans and procedures are what the chart page lists.
    ("clinical_api:record-list", "GET"): "clinical:chart",
    ("clinical_api:record-list", "POST"): "clinical:record_create",
    ("clinical_api:record-detail", "GET"): "clinical:record",
    ("clinical_api:record-detail", "PUT"): "clinical:record_edit",
    ("clinical_api:record-detail", "PATCH"): "clinical:record_edit",
    ("clinical_api:record-sign", "POST"): "clinical:record_sign",
    ("clinical_api:record-amend", "POST"): "clinical:record_amend",
    ("clinical_api:plan-list", "GET"): "clinical:chart",
    ("clinical_api:plan-list", "POST"): "clinical:plan_create",
    ("clinical_api:plan-detail", "GET"): "clinical:plan",
    ("clinical_api:plan-detail", "PUT"): "clinical:plan_edit",
    ("clinical_api:plan-detail", "PATCH"): "clinical:plan_edit",
    ("clinical_api:plan-status", "POST"): "clinical:plan_status",
    ("clinical_api:procedure-list", "GET"): "clinical:chart",
    ("clinical_api:procedure-list", "POST"): "clinical:procedure_create",
    # A procedure has no page of its own: it is read on its plan's page (or the chart).
    ("clinical_api:procedure-detail", "GET"): "clinical:plan",
    ("clinical_api:procedure-detail", "PUT"): "clinical:procedure_edit",
    ("clinical_api:procedure-detail", "PATCH"): "clinical:procedure_edit",
}
