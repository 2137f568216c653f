"""Services are the only door: nothing but an app's services.py changes domain state.

Two checks, both listing every offender as file:line (or admin/view name) so the failure is the to-do list.

1. The source, read as a syntax tree: every module of every app, except the places whose job is to
   write (below), may not call .save(), .delete(), .create(), get_or_create(), update_or_create(),
   bulk_create(), bulk_update() or save_m2m(), nor .update()/.add()/.set()/.remove()/.clear() on a
   manager or queryset (an attribute chain such as `Patient.objects.filter(...).update(...)` or
   `user.groups.add(...)`; a plain name such as a dict, a set or a hash is not a manager).
   `form.save(commit=False)` is allowed: it builds the object and writes nothing; the view then
   hands it to a service.
2. The doors the source does not show: Django's generic views and the admin write by themselves
   (CreateView/UpdateView's form_valid calls form.save(); ModelAdmin.save_model calls obj.save()).
   So every view class behind a URL that is a ModelFormMixin or DeletionMixin must replace
   form_valid (and delete) with its own that does not pass on to Django's, and every ModelAdmin of
   the project's models that may add, change or delete must do the same for save_model /
   delete_model / delete_queryset, and replace save_formset when it has an editable inline (an inline
   where a superuser may add, change or delete rows; a NoDeleteAdmin inline with read-only fields is not).

Where writing is the module's job (each entry says why; keep this list tiny):
- `services.py`: the door itself.
- models (`models.py`, `models/`): the last line: guards in save()/delete() and the methods a
  service calls (patient.archive()).
- migrations, tests, demo data (`demo.py` and the `demo` app, which refuses production).
- ALLOWED below, each one a service by another name or not domain state at all.
"""

import ast
import inspect
import pathlib

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.options import InlineModelAdmin
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.generic.edit import DeletionMixin, ModelFormMixin

from staff.tests.factories import UserFactory

ROOT = pathlib.Path(__file__).resolve().parent.parent
APPS = [
    "clinic",
    "staff",
    "patients",
    "scheduling",
    "reminders",
    "waitlist",
    "clinical",
    "documents",
    "finance",
    "fhir_r4",
]

# (test, app) pairs still being moved onto services, marked xfail until they are; empty since issue #12.
STILL_MOVING = set()

ALLOWED = {
    # The audit trail writes its own append-only entries; every service calls it.
    "clinic/audit.py": "the audit trail itself",
    # One-time form tokens so a double-clicked form is saved once: request bookkeeping, not domain state.
    "clinic/idempotency.py": "form submission tokens",
    # The locked transition every lifecycle service calls (a service helper, shared by the apps).
    "clinic/lifecycle.py": "the lifecycle transition services call",
    # Unsaved form text kept for its author (an idle sign-out loses nothing): not domain state.
    "clinic/drafts.py": "kept drafts of unsaved forms",
    # Files in storage and images re-encoded by Pillow: bytes, not rows.
    "clinic/uploads.py": "file storage and image re-encoding",
    # Puts a whole database and its files back from a backup: it goes around every rule on purpose.
    "clinic/management/commands/restore.py": "restoring a backup",
    # Patients' single-use links are spent by inserting their digest: a service helper, like form tokens.
    "clinic/links.py": "single-use link tokens (the service every link page calls)",
    # The background worker's own bookkeeping: heartbeats, and task rows it claims, hands back or prunes.
    "clinic/worker.py": "the background worker's heartbeats and task rows",
    # The series' services (book, move, cancel a series), in their own module beside the single booking's.
    "scheduling/series.py": "the series' services",
    # The task that sends waitlist offers keeps each offer's delivery state (claimed, sent, unreachable) as it goes:
    # the offer itself is made and accepted through waitlist/services.py.
    "waitlist/tasks.py": "an offer's delivery state, kept by the task sending it",
    # Staff's services for sign-in state, named for their concern: sessions, two-factor devices.
    "staff/sessions.py": "sign-in sessions (bookkeeping)",
    "staff/twofactor.py": "two-factor devices (the service for them)",
    # Applies the one role table to the groups (from a migration and after every migrate).
    "staff/roles.py": "syncing the role table",
    # The formulary's service, in its own module because clinical/services.py is the charting's.
    "clinical/formulary.py": "the formulary's service (drug names the record form suggests)",
    # workbook.save() writes a spreadsheet into the response.
    "finance/exports.py": "spreadsheet export",
}

_ALWAYS_WRITES = {"save", "delete", "create", "get_or_create", "update_or_create", "bulk_create", "bulk_update"}
_ALWAYS_WRITES |= {"save_m2m"}
_MANAGER_WRITES = {"update", "add", "set", "remove", "clear"}  # also names of dict/set/hash methods
_QUERYSET_METHODS = {"all", "filter", "exclude", "select_for_update", "using", "select_related", "only", "defer"}


def _is_skipped(relative):
    parts = relative.parts
    return (
        relative.name in ("services.py", "models.py", "demo.py")
        or "models" in parts[:-1]
        or "migrations" in parts
        or "tests" in parts
        or relative.as_posix() in ALLOWED
    )


def _looks_like_manager(node):
    """`obj.things`, `Model.objects`, `qs.filter(...)`: not a plain local name such as a dict or a set."""
    if isinstance(node, ast.Attribute):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _QUERYSET_METHODS


def _writes_nothing(call):
    return any(
        k.arg == "commit" and isinstance(k.value, ast.Constant) and k.value.value is False for k in call.keywords
    )


def _writes(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr
        always = name in _ALWAYS_WRITES and not _writes_nothing(node)
        if always or (name in _MANAGER_WRITES and _looks_like_manager(node.func.value)):
            yield node.lineno, f"{ast.unparse(node.func)}(...)"


def writes_outside_services(app):
    found = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if not _is_skipped(relative):
            found += [f"{relative}:{line}: {call}" for line, call in _writes(path)]
    return found


def _per_app(test):
    params = [
        pytest.param(app, marks=pytest.mark.xfail(reason="being moved onto services (issue #12)"))
        if (test.__name__, app) in STILL_MOVING
        else app
        for app in APPS
    ]
    return pytest.mark.parametrize("app", params)(test)


@_per_app
def test_no_domain_write_outside_services(app):
    offenders = writes_outside_services(app)
    assert not offenders, "Write through the app's services.py instead:\n" + "\n".join(offenders)


def test_the_scan_finds_a_write():
    """The control: the scan does see the writes it forbids, and lets through what writes nothing."""
    source = """
def form_valid(self, form):
    patient = form.save(commit=False)
    patient.save()
    Patient.objects.filter(pk=1).update(is_archived=True)
    user.groups.add(group)
    Allergy.objects.create(patient=patient)
    context.update(more)
    seen.add(patient)
"""
    path = ROOT / "tests" / "_one_door_sample.py"
    try:
        path.write_text(source)
        found = [call for _, call in _writes(path)]
    finally:
        path.unlink()
    assert found == [
        "patient.save(...)",
        "Patient.objects.filter(pk=1).update(...)",
        "user.groups.add(...)",
        "Allergy.objects.create(...)",
    ]


# --- the doors Django opens by itself ---------------------------------------------------------


def _view_classes(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _view_classes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None:
                yield prefix + str(pattern.pattern), view_class


def _from_django(cls, name):
    """Whether calling `name` on cls reaches Django's own (which writes the way Django does): it is not
    replaced, or each replacement passes on to super().name(...)."""
    for klass in cls.__mro__:
        if name not in vars(klass):
            continue
        if klass.__module__.startswith("django."):
            return True
        if f"super().{name}(" not in inspect.getsource(vars(klass)[name]):
            return False
    return False


def _is_djangos(cls, name):
    """Whether `name` on cls is Django's own, not replaced anywhere in the project."""
    return next(klass for klass in cls.__mro__ if name in vars(klass)).__module__.startswith("django.")


def _our_app(module):
    return module.split(".")[0] in APPS


def generic_view_writes(app):
    found = set()
    for route, view in _view_classes():
        if not view.__module__.startswith(f"{app}."):
            continue
        # A view whose own post() never passes on to Django's never reaches Django's form_valid.
        if issubclass(view, ModelFormMixin) and _from_django(view, "form_valid") and _from_django(view, "post"):
            found.add(f"{view.__module__}.{view.__qualname__} ({route}): form_valid is Django's form.save()")
        if issubclass(view, DeletionMixin) and (_from_django(view, "form_valid") or _from_django(view, "delete")):
            found.add(f"{view.__module__}.{view.__qualname__} ({route}): Django's object.delete()")
    return sorted(found)


@_per_app
def test_no_generic_view_writes_by_itself(app):
    offenders = generic_view_writes(app)
    assert not offenders, "Replace form_valid with a service call:\n" + "\n".join(offenders)


def _may(model_admin, action, request):
    check = getattr(model_admin, f"has_{action}_permission")
    if action == "add" and not isinstance(model_admin, InlineModelAdmin):
        return check(request)
    return check(request, None)


def admin_writes(app, request):
    found = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != apps.get_app_config(app).label or not _our_app(type(model_admin).__module__):
            continue
        name = f"{type(model_admin).__module__}.{type(model_admin).__qualname__}"
        if (_may(model_admin, "add", request) or _may(model_admin, "change", request)) and _from_django(
            type(model_admin), "save_model"
        ):
            found.append(f"{name}: save_model is Django's obj.save()")
        if _may(model_admin, "delete", request):
            for method in ("delete_model", "delete_queryset"):
                if _from_django(type(model_admin), method):
                    found.append(f"{name}: {method} is Django's delete()")
        for inline in model_admin.get_inline_instances(request):
            editable = any(_may(inline, action, request) for action in ("add", "change", "delete"))
            # An own save_formset may hand read-only inlines on to Django's (it saves nothing for them).
            if editable and _is_djangos(type(model_admin), "save_formset"):
                found.append(f"{name}: save_formset is Django's formset.save() ({type(inline).__qualname__})")
                break
    return found


@_per_app
@pytest.mark.django_db
def test_no_admin_writes_by_itself(app):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)  # the one who may do everything
    offenders = admin_writes(app, request)
    assert not offenders, "Route the admin through the app's services:\n" + "\n".join(offenders)


def test_allowed_modules_exist():
    """An entry for a module that moved or went away would silently allow its successor nothing, or
    worse, keep a stale exception: each must name a real file."""
    assert [name for name in ALLOWED if not (ROOT / name).exists()] == []
