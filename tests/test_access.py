"""Who may open which page: every URL of the project against every role, from one table.

The URLs come from the resolver, not from a hand-kept list, so a new page cannot slip in
without a rule here: `test_every_url_has_an_access_rule` fails until ACCESS names it.

The admin's index stands here for the admin site; every other admin page (each model's pages, the
site's own views, custom pages) is walked against every role in test_admin_access.py, from its own
table of what each role may do with each model.
"""

import importlib
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.permissions import Permitted
from clinic.tests.urlwalk import is_machine_url, walk_urls
from clinical import services
from clinical.tests.factories import (
    AmendmentFactory,
    MedicalRecordFactory,
    MedicationFactory,
    ProcedureFactory,
    TreatmentPlanFactory,
)
from documents import services as document_services
from documents.models import ClinicalDocument
from documents.tests.factories import make_document, make_image, pdf_upload
from finance.tests.factories import CompletedVisitFactory, DoneProcedureFactory, PaymentFactory
from patients.tests.factories import AllergyFactory, ConditionFactory, PatientFactory
from scheduling.models import Appointment
from scheduling.tests.factories import AppointmentFactory, local
from staff.api_tokens import create_api_token
from staff.roles import ADMINISTRATOR, DOCTOR, MANAGER, NURSE, RECEPTIONIST, ROLE_PERMISSIONS
from staff.tests.factories import DoctorFactory, UserFactory

ROLES = [RECEPTIONIST, DOCTOR, NURSE, MANAGER, ADMINISTRATOR]
NO_ROLE = "signed in, no role"
ANONYMOUS = "anonymous"
PRINCIPALS = [*ROLES, NO_ROLE, ANONYMOUS]

EVERY_ROLE = frozenset(ROLES)
FRONT_DESK = frozenset({RECEPTIONIST, ADMINISTRATOR})
CLINICAL = frozenset({DOCTOR, NURSE})
DOCTORS = frozenset({DOCTOR})
# Who has finance.add_payment: the front desk takes payments; managers and administrators too.
TAKES_PAYMENTS = frozenset({RECEPTIONIST, MANAGER, ADMINISTRATOR})
ANY_SIGNED_IN = EVERY_ROLE | {NO_ROLE}
PUBLIC = ANY_SIGNED_IN | {ANONYMOUS}

# Where each principal lands after signing in (the persona doctor has no doctor profile: Today).
LANDING = {
    RECEPTIONIST: "home",
    DOCTOR: "home",
    NURSE: "home",
    MANAGER: "admin:index",
    ADMINISTRATOR: "staff:list",
    NO_ROLE: "home",
}

# The access table: URL name -> who may use it. Written out by hand (not derived from
# staff/roles.py), so a change to the roles table that opens or closes a page shows up here.
ACCESS = {
    "home": EVERY_ROLE,
    "login": PUBLIC,
    "favicon": PUBLIC,  # browsers ask for /favicon.ico on every site, signed in or not
    "logout": ANY_SIGNED_IN,
    "password_change": ANY_SIGNED_IN,
    "password_change_done": ANY_SIGNED_IN,
    "session:keep_alive": ANY_SIGNED_IN,
    "session:draft": ANY_SIGNED_IN,
    "session:draft_discard": ANY_SIGNED_IN,
    "admin:index": frozenset({MANAGER, ADMINISTRATOR}),
    # patients
    "patients:list": EVERY_ROLE,
    "patients:detail": EVERY_ROLE,
    "patients:create": FRONT_DESK,
    "patients:edit": FRONT_DESK,
    "patients:archive": FRONT_DESK,
    "patients:restore": FRONT_DESK,
    "patients:allergies_checked": CLINICAL,
    "patients:allergy_create": CLINICAL,
    "patients:allergy_edit": CLINICAL,
    "patients:condition_create": CLINICAL,
    "patients:condition_edit": CLINICAL,
    # scheduling
    "scheduling:book": FRONT_DESK,
    "scheduling:day": EVERY_ROLE,
    "scheduling:week": EVERY_ROLE,
    "scheduling:slots": EVERY_ROLE,
    "scheduling:detail": EVERY_ROLE,
    "scheduling:reschedule": FRONT_DESK,
    "scheduling:undo_booking": FRONT_DESK,
    "scheduling:cancel": FRONT_DESK,
    "scheduling:confirm": FRONT_DESK,
    "scheduling:check_in": FRONT_DESK | {NURSE},
    "scheduling:undo_check_in": FRONT_DESK | {NURSE},
    "scheduling:no_show": FRONT_DESK | {NURSE},
    "scheduling:start": frozenset({DOCTOR}),
    "scheduling:complete": frozenset({DOCTOR}),
    # staff
    "staff:list": frozenset({ADMINISTRATOR}),
    "staff:create": frozenset({ADMINISTRATOR}),
    "staff:edit": frozenset({ADMINISTRATOR}),
    "staff:deactivate": frozenset({ADMINISTRATOR}),
    "staff:reactivate": frozenset({ADMINISTRATOR}),
    "staff:doctor_profile": frozenset({ADMINISTRATOR}),
    "staff:doctors": EVERY_ROLE,
    # sign-in security: one's own two-factor sign-in and sessions; administrators reset someone's
    # two-factor sign-in and sign them out everywhere.
    "staff:security": frozenset({ADMINISTRATOR}),
    "staff:reset_two_factor": frozenset({ADMINISTRATOR}),
    "staff:sign_out_everywhere": frozenset({ADMINISTRATOR}),
    "staff:two_factor": ANY_SIGNED_IN,
    "staff:two_factor_setup": ANY_SIGNED_IN,
    "staff:backup_codes": ANY_SIGNED_IN,
    "staff:new_backup_codes": ANY_SIGNED_IN,
    "staff:two_factor_disable": ANY_SIGNED_IN,
    "staff:two_factor_verify": ANY_SIGNED_IN,  # owing no code, it sends one on to today's page
    "staff:sessions": ANY_SIGNED_IN,
    "staff:sign_out_others": ANY_SIGNED_IN,
    # Keys for the JSON API: everyone's own (a token acts with its owner's roles, no more).
    "staff:api_tokens": ANY_SIGNED_IN,
    "staff:api_token_revoke": ANY_SIGNED_IN,
    # the audit trail: read by managers and administrators
    "audit:search": frozenset({MANAGER, ADMINISTRATOR}),
    "patients:access": frozenset({MANAGER, ADMINISTRATOR}),
    # clinical: nurses read the chart and record vital signs; only doctors chart, sign, amend and plan.
    # Receptionists, managers and administrators see none of it.
    "clinical:my_day": DOCTORS,
    "clinical:unsigned_notes": DOCTORS,
    "clinical:chart": CLINICAL,
    "clinical:record_create": DOCTORS,
    "clinical:plan_create": DOCTORS,
    "clinical:procedure_create": DOCTORS,
    "clinical:visit_start": DOCTORS,
    "clinical:visit_record": DOCTORS,
    "clinical:vitals": CLINICAL,
    "clinical:record": CLINICAL,
    "clinical:record_edit": DOCTORS,  # and only the author's draft (the builder makes the doctor the author)
    "clinical:record_sign": DOCTORS,  # likewise
    "clinical:record_amend": DOCTORS,
    "clinical:prescription": CLINICAL,
    "clinical:plan": CLINICAL,
    "clinical:plan_edit": DOCTORS,
    "clinical:plan_status": DOCTORS,
    "clinical:procedure_edit": DOCTORS,
    # the record form's lookups as a doctor types (JSON): ICD-10 codes, formulary drugs, and the
    # allergy check of a typed drug on the author's own draft
    "clinical:icd10_lookup": DOCTORS,
    "clinical:drug_lookup": DOCTORS,
    "clinical:allergy_check": DOCTORS,
    # finance: the front desk's side (payments due, taking a payment, the receipt). The rest of
    # finance is in the admin, for managers and administrators (finance/tests/test_permissions.py).
    "finance:due": TAKES_PAYMENTS,
    "finance:pay_visit": TAKES_PAYMENTS,
    "finance:pay_procedure": TAKES_PAYMENTS,
    "finance:receipt": TAKES_PAYMENTS,
    # documents: doctors and nurses file, read, replace and archive documents and photos. The front
    # desk lists and files referrals and consent forms only (the builders below use a clinical lab
    # result, so reception is refused it; administrative documents are in
    # documents/tests/test_permissions.py). Only administrators see the archived page and restore.
    "documents:patient": CLINICAL | FRONT_DESK,
    "documents:upload": CLINICAL | FRONT_DESK,
    "documents:detail": CLINICAL,
    "documents:replace": CLINICAL,
    "documents:archive": CLINICAL,
    "documents:restore": frozenset({ADMINISTRATOR}),
    "documents:download": CLINICAL,
    "documents:archived": frozenset({ADMINISTRATOR}),
    "documents:gallery": CLINICAL,
    "documents:image_upload": CLINICAL,
    "documents:image": CLINICAL,
    "documents:image_file": CLINICAL,
    "documents:image_thumbnail": CLINICAL,
    "documents:image_archive": CLINICAL,
    "documents:image_restore": frozenset({ADMINISTRATOR}),
    # printing from a signed record: whoever reads records prints the prescription and visit summary (and
    # files them, with the documents add permission); a sick note or referral letter is a doctor's.
    "documents:record_printout": CLINICAL,
    "documents:record_letter": DOCTORS,
}


def _patient():
    return {"pk": PatientFactory().pk}


def _appointment():
    return {"pk": AppointmentFactory().pk}


def _other_user():
    return {"pk": UserFactory().pk}


def _allergy():
    allergy = AllergyFactory()
    return {"patient_pk": allergy.patient_id, "pk": allergy.pk}


def _condition():
    condition = ConditionFactory()
    return {"patient_pk": condition.patient_id, "pk": condition.pk}


def _appointment_today(status):
    """An appointment today at 10:00, already checked in (or in consultation)."""

    def build():
        now = timezone.now()
        started = now if status == Appointment.Status.IN_PROGRESS else None
        appointment = AppointmentFactory(
            start=local(timezone.localdate(), 10), status=status, checked_in_at=now, started_at=started
        )
        return {"pk": appointment.pk}

    return build


def _signed_record():
    """A signed record with a prescription and an amendment: every part of the record pages shows."""
    record = MedicalRecordFactory()
    MedicationFactory(record=record)
    services.sign_record(record=record, by=record.author)
    AmendmentFactory(record=record)
    return {"pk": record.pk}


def _own_draft(user=None):
    """A draft whose author is the requesting doctor: only the author may edit or sign it. Any other
    requester gets a draft by some doctor (they are refused by role before the author matters)."""
    is_doctor = user is not None and user.groups.filter(name=DOCTOR).exists()
    record = MedicalRecordFactory(author=user) if is_doctor else MedicalRecordFactory()
    return {"pk": record.pk}


def _own_token(user=None):
    """One of the requester's own tokens (a stranger's answers 404 to everyone)."""
    owner = user if user is not None else UserFactory()
    return {"pk": create_api_token(user=owner, name="Access walk", days=30)[0].pk}


def _new_patient():
    return {"patient_pk": PatientFactory().pk}


def _plan():
    return {"pk": TreatmentPlanFactory().pk}


def _patient_with_files():
    """A patient with a lab result (in two versions), a referral, a photo, and an archived document and
    photo: every list on the documents pages has rows."""
    patient = PatientFactory()
    lab = make_document(patient)
    document_services.replace_document_file(document=lab, uploaded=pdf_upload(), by=lab.uploaded_by, note="Corrected")
    make_document(patient, doc_type=ClinicalDocument.Type.REFERRAL, title="Referral to dermatology")
    make_image(patient)
    _archive(make_document(patient, title="Wrong patient's result"))
    _archive(make_image(patient, body_site="Sacrum"))
    return {"patient_pk": patient.pk}


def _archive(item):
    if isinstance(item, ClinicalDocument):
        return document_services.archive_document(document=item, by=item.uploaded_by, reason="Filed in error")
    return document_services.archive_image(image=item, by=item.uploaded_by, reason="Filed in error")


# URL arguments, built fresh for each request (an archive by one role must not 404 the next).
KWARGS = {
    "staff:api_token_revoke": _own_token,
    "patients:detail": _patient,
    "patients:edit": _patient,
    "patients:archive": _patient,
    "patients:restore": lambda: {"pk": PatientFactory(is_archived=True).pk},
    "patients:allergies_checked": _patient,
    "patients:allergy_create": lambda: {"patient_pk": PatientFactory().pk},
    "patients:allergy_edit": _allergy,
    "patients:condition_create": lambda: {"patient_pk": PatientFactory().pk},
    "patients:condition_edit": _condition,
    "scheduling:week": lambda: {"doctor_pk": DoctorFactory().pk},
    "scheduling:detail": _appointment,
    "scheduling:reschedule": _appointment,
    "scheduling:undo_booking": _appointment,
    "scheduling:cancel": _appointment,
    "scheduling:confirm": _appointment,
    "scheduling:check_in": _appointment,
    "scheduling:undo_check_in": _appointment_today(Appointment.Status.CHECKED_IN),
    "scheduling:no_show": _appointment,
    "scheduling:start": _appointment,
    "scheduling:complete": _appointment,
    "staff:edit": _other_user,
    "staff:deactivate": _other_user,
    "staff:reactivate": lambda: {"pk": UserFactory(is_active=False).pk},
    "staff:doctor_profile": lambda: {"pk": DoctorFactory().user_id},
    "staff:security": _other_user,
    "staff:reset_two_factor": _other_user,
    "staff:sign_out_everywhere": _other_user,
    "patients:access": _patient,
    "clinical:chart": _patient,
    "clinical:record_create": _new_patient,
    "clinical:plan_create": _new_patient,
    "clinical:procedure_create": _new_patient,
    "clinical:visit_start": _appointment_today(Appointment.Status.CHECKED_IN),
    "clinical:visit_record": _appointment_today(Appointment.Status.IN_PROGRESS),
    "clinical:vitals": _appointment_today(Appointment.Status.CHECKED_IN),
    "clinical:record": _signed_record,
    "clinical:record_edit": _own_draft,
    "clinical:record_sign": _own_draft,
    "clinical:record_amend": _signed_record,
    "clinical:prescription": _signed_record,
    "clinical:plan": _plan,
    "clinical:plan_edit": _plan,
    "clinical:plan_status": _plan,
    "clinical:procedure_edit": lambda: {"pk": ProcedureFactory().pk},
    "clinical:allergy_check": _own_draft,
    # Payable ones, so a permitted role gets the payment form (an already paid visit redirects).
    "finance:pay_visit": lambda: {"pk": CompletedVisitFactory().pk},
    "finance:pay_procedure": lambda: {"pk": DoneProcedureFactory().pk},
    "finance:receipt": lambda: {"pk": PaymentFactory().pk},
    "documents:patient": _patient_with_files,
    "documents:upload": _new_patient,
    "documents:archived": _patient_with_files,
    "documents:gallery": _patient_with_files,
    "documents:image_upload": _new_patient,
    # A clinical document (a lab result), its current version, a photo; archived ones to restore.
    "documents:detail": lambda: {"pk": make_document().pk},
    "documents:replace": lambda: {"pk": make_document().pk},
    "documents:archive": lambda: {"pk": make_document().pk},
    "documents:restore": lambda: {"pk": _archive(make_document()).pk},
    "documents:download": lambda: {"pk": make_document().current_version_id},
    "documents:image": lambda: {"pk": make_image().pk},
    "documents:image_file": lambda: {"pk": make_image().pk},
    "documents:image_thumbnail": lambda: {"pk": make_image().pk},
    "documents:image_archive": lambda: {"pk": make_image().pk},
    "documents:image_restore": lambda: {"pk": _archive(make_image()).pk},
    "documents:record_printout": lambda: {**_signed_record(), "kind": "prescription"},
    "documents:record_letter": lambda: {**_signed_record(), "kind": "sick-note"},
}
# Builders that depend on who asks (a doctor edits and signs only their own drafts): given the user.
FOR_USER = {"clinical:record_edit", "clinical:record_sign", "clinical:allergy_check", "staff:api_token_revoke"}

# Rules kept beside the newer features' own tests: each module's ACCESS (URL name -> principals: role names,
# NO_ROLE's and ANONYMOUS's strings) joins the table, and its KWARGS builders (each given the requesting user,
# or None for no one) join the builders.
RULE_MODULES = (
    "reminders.tests.access_rules",
    "waitlist.tests.access_rules",
    "scheduling.tests.series_access_rules",
    "scheduling.tests.feed_access_rules",
)
for _module in map(importlib.import_module, RULE_MODULES):
    assert set(ACCESS).isdisjoint(_module.ACCESS), f"{_module.__name__} repeats a rule"
    ACCESS.update({name: frozenset(principals) for name, principals in _module.ACCESS.items()})
    KWARGS.update(_module.KWARGS)
    FOR_USER |= set(_module.KWARGS)


def url_kwargs(name, user=None):
    """The URL arguments for `name`, built for the requesting user where that matters."""
    if name not in KWARGS:
        return None
    return KWARGS[name](user) if name in FOR_USER else KWARGS[name]()


FRIENDLY_403 = "This page is not available to you"


def page_text(response):
    """The response's text; a file (a download, a thumbnail) is read through and closed."""
    if response.streaming:
        # Read to the end, the test client's wrapper closes the file (an explicit close() would
        # also close the test's database connection).
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode()


# The API's and FHIR's URLs answer machines (401/403, never a sign-in page): tests/test_api_access.py
# walks them against this same table, each operation by the page it stands for.
URLS = {name: pattern for name, pattern in walk_urls() if not is_machine_url(name)}
URL_NAMES = sorted(name or "<unnamed>" for name in URLS)


def _view_class(pattern):
    return getattr(pattern.callback, "view_class", None)


# What the page's own script sends to its JSON endpoints (the session's keep-alive and kept drafts).
BROWSER_CALLS = {
    "session:keep_alive": {},
    "session:draft": {"path": "/clinical/records/1/edit/"},
    "session:draft_discard": {"path": "/clinical/records/1/edit/"},
}

# Actions that ask first (completing a visit without signed notes), answered "do it anyway".
ANSWERED = {"scheduling:complete": {"anyway": "1"}}


def method_for(name):
    """POST for action views that accept nothing else (archive, check in, sign out), GET otherwise."""
    view_class = _view_class(URLS[name])
    if view_class is not None and "get" not in view_class.http_method_names:
        return "post"
    return "get"


def client_as(principal, client_for):
    if principal == ANONYMOUS:
        return Client()
    return client_for(None if principal == NO_ROLE else principal)


def login_redirect(name, url):
    """Where LoginRequiredMiddleware sends an anonymous visitor: the sign-in page, or the admin's own
    sign-in for admin pages (Django marks those views with their login_url)."""
    login_url = getattr(URLS[name].callback, "login_url", None) or reverse("login")
    return f"{login_url}?next={quote(url)}"


def test_every_url_has_an_access_rule():
    names = set(URLS)
    assert None not in names, "Every URL needs a name (and a rule in ACCESS)"
    assert names - set(ACCESS) == set(), "New URLs need a rule in ACCESS"
    assert set(ACCESS) - names == set(), "ACCESS names URLs that no longer exist"


@pytest.mark.django_db
def test_every_url_with_arguments_has_a_builder():
    needing = {name for name, pattern in URLS.items() if pattern.pattern.converters}
    assert needing == set(KWARGS)
    for name in needing:
        assert set(KWARGS[name]()) == set(URLS[name].pattern.converters), name


def test_admin_index_is_in_the_walk():
    assert "admin:index" in URLS
    assert not [name for name in URLS if name and name.startswith("admin:") and name != "admin:index"]


def test_every_other_admin_page_is_walked_in_test_admin_access():
    from tests.test_admin_access import ADMIN_URLS

    admin_pages = {name for name, _ in walk_urls(all_admin=True) if name and name.startswith("admin:")}
    assert admin_pages - set(ADMIN_URLS) == set()


@pytest.mark.django_db
@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("name", URL_NAMES)
def test_access(name, principal, client_for):
    assert name in ACCESS, f"{name} has no rule in ACCESS"
    client = client_as(principal, client_for)
    url = reverse(name, kwargs=url_kwargs(name, getattr(client, "user", None)))
    method = method_for(name)
    data = {**BROWSER_CALLS, **ANSWERED}.get(name, {}) if principal != ANONYMOUS else {}
    response = getattr(client, method)(url, data)

    if principal == ANONYMOUS and principal not in ACCESS[name]:
        assert response.status_code == 302
        assert response["Location"] == login_redirect(name, url)
    elif name == "logout":
        # Signing out ends at the sign-in page, and the session no longer holds a user.
        assert response.status_code == 302
        assert response["Location"] == reverse("login")
        assert "_auth_user_id" not in client.session
    elif name in ("login", "staff:two_factor_verify") and principal != ANONYMOUS:
        # Already signed in (and owing no code): the sign-in page sends them on to where they work.
        assert response.status_code == 302
        assert response["Location"] == reverse(LANDING[principal])
    elif principal in ACCESS[name] and name in BROWSER_CALLS:
        # Called by the page's script (static/js/keep-draft.js): a JSON answer, never a page.
        assert response.status_code == 200, response.status_code
        assert response["Content-Type"] == "application/json"
    elif principal in ACCESS[name] and method == "post":
        # An action done (or refused with a message) ends on a page, never at a sign-in.
        assert response.status_code == 302, response.status_code
        assert not response["Location"].startswith((reverse("login"), reverse("admin:login")))
    elif principal in ACCESS[name]:
        assert response.status_code == 200, response.status_code
        assert FRIENDLY_403 not in page_text(response)
    elif name.startswith("admin:"):
        # The admin keeps its own door: a signed-in user who is not staff is sent to the admin's sign-in.
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={quote(url)}"
    else:
        assert response.status_code == 403
        assert FRIENDLY_403 in page_text(response)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_admin_site_is_for_managers_and_administrators(role, client_for):
    client = client_for(role)
    response = client.get(reverse("admin:index"), follow=True)
    if role in (MANAGER, ADMINISTRATOR):
        assert client.user.is_staff
        assert response.redirect_chain == []
        assert "Site administration" in response.content.decode()
    else:
        assert not client.user.is_staff
        assert response.redirect_chain[0][0].startswith(reverse("admin:login"))
        assert "Site administration" not in response.content.decode()
        assert "not authorized to access this page" in response.content.decode()


@pytest.mark.django_db
def test_signed_in_user_with_no_role_sees_the_friendly_page_not_a_crash(client_for):
    response = client_for(None).get(reverse("home"))
    assert response.status_code == 403
    body = response.content.decode()
    assert FRIENDLY_403 in body
    assert "ask an administrator" in body


MISSING_ID = 987_654_321


@pytest.mark.django_db
@pytest.mark.parametrize("principal", ROLES)
@pytest.mark.parametrize("name", sorted(n for n in URL_NAMES if n in KWARGS))
def test_a_refused_role_gets_the_same_403_for_a_missing_id(name, principal, client_for):
    """Permission first, then the lookup: a role refused a page cannot tell existing ids from missing ones
    (a 403 for one and a 404 for the other would let it enumerate records)."""
    if principal in ACCESS[name] or name.startswith("admin:"):
        return
    client = client_as(principal, client_for)
    kwargs = url_kwargs(name, client.user)
    missing = {key: MISSING_ID if isinstance(value, int) else value for key, value in kwargs.items()}
    method = method_for(name)
    response = getattr(client, method)(reverse(name, kwargs=missing))
    assert response.status_code == 403, f"{name} as {principal}: {response.status_code} for a missing id"


@pytest.mark.django_db
@pytest.mark.parametrize("principal", [DOCTOR, NURSE, MANAGER])
def test_booking_for_a_patient_id_answers_the_same_403_whether_or_not_the_patient_exists(principal, client_for):
    client = client_as(principal, client_for)
    existing = PatientFactory()
    for patient_id in (existing.pk, MISSING_ID):
        response = client.get(reverse("scheduling:book"), {"patient": patient_id})
        assert response.status_code == 403, (principal, patient_id, response.status_code)


# --- one rule: the table above is what the roles table and the views' declarations give ------------


def _declared(view_class):
    """(all of, any of) the permissions a view declares through clinic.permissions.Permitted."""
    view = view_class()
    return set(view.get_permission_required()), set(view.get_any_permission())


def roles_allowed(view_class):
    """The roles whose permissions (staff.roles.ROLE_PERMISSIONS, the table the API will share too)
    satisfy what the view declares."""
    required, any_of = _declared(view_class)
    return frozenset(
        role
        for role, granted in ROLE_PERMISSIONS.items()
        if required <= set(granted) and (not any_of or any_of & set(granted))
    )


def _is_public(pattern):
    return getattr(pattern.callback, "login_required", True) is False


APP_PAGES = sorted(name for name in URL_NAMES if not name.startswith("admin:"))


@pytest.mark.parametrize("name", APP_PAGES)
def test_every_page_declares_its_permission_through_the_one_rule(name):
    pattern = URLS[name]
    if _is_public(pattern) or ANONYMOUS in ACCESS[name]:
        return  # sign-in, sign-out and the like: open on purpose
    view_class = _view_class(pattern)
    assert view_class is not None and issubclass(view_class, Permitted), f"{name}: not a Permitted view"


@pytest.mark.parametrize("name", APP_PAGES)
def test_the_access_table_follows_from_the_roles_table_and_the_views_declarations(name):
    """A role the view's declaration refuses (by staff.roles.ROLE_PERMISSIONS) is refused in ACCESS;
    where a role is allowed by declaration but not in ACCESS, the view narrows by object (a
    receptionist opens administrative documents, not the clinical one this table tries)."""
    if _is_public(URLS[name]) or ANONYMOUS in ACCESS[name] or NO_ROLE in ACCESS[name]:
        return  # open pages, and one's own account's pages (any signed-in user, no role needed)
    allowed = roles_allowed(_view_class(URLS[name]))
    assert ACCESS[name] <= allowed, name
    if name not in NARROWED_BY_OBJECT:
        assert ACCESS[name] == allowed, name


# Pages whose view lets more roles in than the object ACCESS tries may be shown to.
NARROWED_BY_OBJECT = {"documents:detail", "documents:download", "documents:replace"}
