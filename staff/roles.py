"""The one table of role -> permissions. `sync_roles()` applies it idempotently.

It runs from a data migration and after every `migrate`, so the groups in the database
always match this table: a permission removed here is removed from the group there.
"""

RECEPTIONIST = "Receptionist"
DOCTOR = "Doctor"
NURSE = "Nurse"
MANAGER = "Manager"
ADMINISTRATOR = "Administrator"

_FRONT_DESK = [
    "patients.view_patient",
    "patients.add_patient",
    "patients.change_patient",
    "patients.archive_patient",
    "scheduling.view_appointment",
    "scheduling.add_appointment",
    "scheduling.change_appointment",
    "scheduling.cancel_appointment",
    "scheduling.check_in_appointment",
    "staff.view_doctor",
    # The reminders of an appointment and the patients' replies to them (on its page and on Today).
    "reminders.view_reminder",
    # Reception files referrals and consent forms and sees only those.
    "documents.view_administrative_document",
    "documents.add_administrative_document",
    # The waitlist: reception keeps it and fills freed times from it (doctors and nurses may look).
    "waitlist.view_waitlistentry",
    "waitlist.add_waitlistentry",
    "waitlist.change_waitlistentry",
    "waitlist.offer_waitlistentry",
]
_CLINICAL_HISTORY = [
    "patients.view_allergy",
    "patients.add_allergy",
    "patients.change_allergy",
    "patients.view_condition",
    "patients.add_condition",
    "patients.change_condition",
]

_CHART_READ = [
    "clinical.view_medicalrecord",
    "clinical.view_medication",
    "clinical.view_amendment",
    "clinical.view_treatmentplan",
    "clinical.view_procedure",
]

# Managers and Administrators keep the books in the admin; the front desk only takes payments.
_FINANCE = [
    "finance.view_expense",
    "finance.add_expense",
    "finance.change_expense",
    "finance.view_otherincome",
    "finance.add_otherincome",
    "finance.change_otherincome",
    "finance.view_payment",
    "finance.add_payment",
    "finance.view_expensecategory",
    "finance.add_expensecategory",
    "finance.change_expensecategory",
    "finance.view_closedmonth",
    "finance.add_closedmonth",
    "finance.view_monthlyreport",
]

# Doctors and nurses file, read, correct and archive documents and images.
_DOCUMENTS = [
    "documents.view_clinicaldocument",
    "documents.add_clinicaldocument",
    "documents.change_clinicaldocument",
    "documents.archive_clinicaldocument",
    "documents.view_patientimage",
    "documents.add_patientimage",
    "documents.archive_patientimage",
]

ROLE_PERMISSIONS = {
    RECEPTIONIST: [*_FRONT_DESK, "finance.add_payment"],
    DOCTOR: [
        "patients.view_patient",
        *_CLINICAL_HISTORY,
        "scheduling.view_appointment",
        "scheduling.start_visit_appointment",
        "staff.view_doctor",
        "staff.add_calendarfeed",  # their own private calendar feed (staff/feed_views.py)
        "waitlist.view_waitlistentry",
        *_CHART_READ,
        "clinical.add_medicalrecord",
        "clinical.change_medicalrecord",
        "clinical.sign_medicalrecord",
        "clinical.amend_medicalrecord",
        "clinical.record_vitals_medicalrecord",
        "clinical.add_treatmentplan",
        "clinical.change_treatmentplan",
        "clinical.add_procedure",
        "clinical.change_procedure",
        *_DOCUMENTS,
    ],
    NURSE: [
        "patients.view_patient",
        *_CLINICAL_HISTORY,
        "scheduling.view_appointment",
        "scheduling.check_in_appointment",
        "staff.view_doctor",
        "waitlist.view_waitlistentry",
        *_CHART_READ,
        "clinical.record_vitals_medicalrecord",
        *_DOCUMENTS,
    ],
    MANAGER: [
        "patients.view_patient",
        "scheduling.view_appointment",
        "staff.view_doctor",
        "staff.view_specialty",
        *_FINANCE,
        # The audit trail: who saw or changed what (searching it shows names, never clinical content).
        "clinic.view_auditentry",
        # "Background work" in the admin: workers alive, tasks waiting and failed (clinic/worker.py).
        "clinic.view_workerheartbeat",
        # Reminders: when and what they say (the admin), and sending a failed one again.
        "reminders.view_remindersettings",
        "reminders.change_remindersettings",
        "reminders.view_reminder",
        "reminders.retry_reminder",
    ],
    ADMINISTRATOR: [
        *_FRONT_DESK,
        "staff.view_user",
        "staff.add_user",
        "staff.change_user",
        "staff.deactivate_user",
        "staff.add_doctor",
        "staff.change_doctor",
        "staff.view_specialty",
        "staff.add_specialty",
        "staff.change_specialty",
        "staff.view_workinghours",
        "staff.add_workinghours",
        "staff.change_workinghours",
        "staff.delete_workinghours",
        *_FINANCE,
        # Only an administrator brings back what was archived (seeing titles, not content).
        "documents.restore_clinicaldocument",
        "documents.restore_patientimage",
        "clinic.view_auditentry",
        "clinic.view_workerheartbeat",
    ],
}

# Roles that read charts: granting one is named as such in the audit trail.
CLINICAL_ROLES = {DOCTOR, NURSE}
# Roles that work in the Django admin (it needs is_staff).
ADMIN_SITE_ROLES = {MANAGER, ADMINISTRATOR}
ALL_ROLES = list(ROLE_PERMISSIONS)


def sync_roles(apps=None, strict=True):
    """Create the groups and set each one's permissions to exactly the table above.

    In a data migration (strict=False) permissions of apps not migrated yet are skipped; the
    post_migrate sync that ends every `migrate` is strict and completes them.
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    for app_config in apps.get_app_configs():
        # Historical app configs in a migration have no models_module; create_permissions skips those.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            try:
                wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
            except Permission.DoesNotExist as exc:
                if not strict:
                    continue
                raise LookupError(f"Role {role!r} names unknown permission {code!r}") from exc
        group.permissions.set(wanted)
