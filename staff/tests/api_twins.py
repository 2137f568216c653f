"""The page each staff API operation stands for (tests/test_api_access.py checks them against ACCESS)."""

TWINS = {
    # Specialties are read where the doctors page names them: by everyone who may see that page.
    ("staff_api:specialty-list", "GET"): "staff:doctors",
    ("staff_api:specialty-detail", "GET"): "staff:doctors",
    ("staff_api:doctor-list", "GET"): "staff:doctors",
    ("staff_api:doctor-detail", "GET"): "staff:doctors",
    ("staff_api:account-list", "GET"): "staff:list",
    ("staff_api:account-list", "POST"): "staff:create",
    # No page shows one account alone; the staff list shows each one to the same role.
    ("staff_api:account-detail", "GET"): "staff:list",
    ("staff_api:account-detail", "PUT"): "staff:edit",
    ("staff_api:account-detail", "PATCH"): "staff:edit",
    ("staff_api:account-deactivate", "POST"): "staff:deactivate",
    ("staff_api:account-reactivate", "POST"): "staff:reactivate",
}
