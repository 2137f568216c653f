"""The page each scheduling API operation stands for (tests/test_api_access.py checks them against ACCESS)."""

TWINS = {
    ("scheduling_api:slot-list", "GET"): "scheduling:slots",
    # The day calendar lists appointments to the same roles.
    ("scheduling_api:appointment-list", "GET"): "scheduling:day",
    ("scheduling_api:appointment-list", "POST"): "scheduling:book",
    ("scheduling_api:appointment-detail", "GET"): "scheduling:detail",
    ("scheduling_api:appointment-reschedule", "POST"): "scheduling:reschedule",
    ("scheduling_api:appointment-cancel", "POST"): "scheduling:cancel",
    ("scheduling_api:appointment-confirm", "POST"): "scheduling:confirm",
    ("scheduling_api:appointment-check-in", "POST"): "scheduling:check_in",
    ("scheduling_api:appointment-undo-check-in", "POST"): "scheduling:undo_check_in",
    ("scheduling_api:appointment-no-show", "POST"): "scheduling:no_show",
    ("scheduling_api:appointment-start", "POST"): "scheduling:start",
    ("scheduling_api:appointment-complete", "POST"): "scheduling:complete",
}
