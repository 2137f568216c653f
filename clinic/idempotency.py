"""Every form that writes is saved once, however often it is submitted.

Each POST form carries a one-time token (`{% load submissions %}{% form_token %}`, a fresh UUID per
form shown). The view (`OncePerSubmission`, which wraps the whole view) claims the token in the same
transaction as the write: a FormSubmission row, unique on the token. A second submit of the same
form (a double click, a retried request, a Back-and-resubmit) finds that row and is sent where the
first one went ("This form was already saved."), writing nothing and no audit entry.

Two identical submits at the same instant: the claim is made after the audit chain's lock
(clinic/audit.py: chain first, then rows), so the second waits for the first to commit, then finds
its claim. On PostgreSQL the chain's advisory lock queues them; on SQLite BEGIN IMMEDIATE does.

Uploads store their file before any transaction (no lock waits on storage), so they cannot claim
inside it; they claim first in a short transaction of their own (`stores_files_first`), and a twin
waits for that claim to finish instead of storing a second file.

A submit that is refused (the form shown again with its errors, a 4xx, an exception) gives its token
back, so the corrected form can be sent. A POST without a token (a script, an old page) is handled as
before; every form template carries one (tests/test_idempotency.py).
"""

import functools
import time
import uuid
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connections, router, transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.utils import timezone

from clinic.models import FormSubmission

TOKEN_FIELD = "client_token"
ALREADY_SAVED = "This form was already saved."
STILL_SAVING = "This form is still being saved. Reload the page in a moment."
# How long a twin of an upload waits for the first to finish, and when an unfinished claim (a worker
# killed mid-upload) is taken to be abandoned.
TWIN_WAIT = timedelta(seconds=10)
ABANDONED_AFTER = timedelta(minutes=2)


def new_token():
    return uuid.uuid4()


def posted_token(request):
    """The form's token, or None when it has none (or not a UUID: handled as a form without one)."""
    value = request.POST.get(TOKEN_FIELD, "")
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _saves(response):
    """A write ends in a redirect; a form shown again (200), a refusal (4xx) saved nothing."""
    return 300 <= response.status_code < 400 and response.has_header("Location")


def _replay(request, submission):
    if submission.user_id != request.user.pk:
        # Tokens are random and per page: someone else's is not a replay but a forged form.
        raise PermissionDenied("This form was sent from another person's page.")
    messages.info(request, ALREADY_SAVED)
    return HttpResponseRedirect(submission.result_url)


def _lock_token(token, using):
    """A transaction-scoped lock on this one form's token (PostgreSQL; SQLite writes one at a time).

    Only twins of a submission wait for each other: one lock for every form made each POST with a
    token wait for every other, and bookings queued one behind another under a busy front desk."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        key = (token.int >> 64) - (1 << 63)  # the token's first 64 bits, as PostgreSQL's signed bigint
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _finished(token, using):
    return FormSubmission.objects.using(using).filter(token=token).first()


def submit_once(request, handle, *, stores_files_first=False):
    """Run `handle()` (the view's POST) once per form token; a replay goes to the first result."""
    token = posted_token(request)
    if token is None or not request.user.is_authenticated:
        return handle()
    using = router.db_for_write(FormSubmission)
    if stores_files_first:
        return _submit_files_first(request, handle, token, using)
    done = _finished(token, using)
    if done is not None and done.result_url:
        return _replay(request, done)  # nothing locked for a plain replay
    with transaction.atomic(using=using):
        _lock_token(token, using)  # twins of this form wait here; other forms do not
        done = _finished(token, using)  # a twin that committed while this one waited for the lock
        if done is not None:
            if done.result_url:
                return _replay(request, done)
            return HttpResponse(STILL_SAVING, status=409, content_type="text/plain; charset=utf-8")
        claim = FormSubmission.objects.using(using).create(token=token, user=request.user, path=request.path[:300])
        response = handle()
        if _saves(response):
            claim.result_url = response["Location"][:500]
            claim.save(using=using, update_fields=["result_url"])
        else:
            claim.delete(using=using)
    return response


def _submit_files_first(request, handle, token, using):
    claim = _claim_alone(request, token, using)
    if claim is None:
        return _after_twin(request, handle, token, using)
    try:
        response = handle()
    except BaseException:
        FormSubmission.objects.using(using).filter(pk=claim.pk).delete()
        raise
    if _saves(response):
        FormSubmission.objects.using(using).filter(pk=claim.pk).update(result_url=response["Location"][:500])
    else:
        FormSubmission.objects.using(using).filter(pk=claim.pk).delete()
    return response


def _claim_alone(request, token, using):
    """The token claimed and committed before the file is stored; None if someone holds it."""
    try:
        with transaction.atomic(using=using):
            stale = timezone.now() - ABANDONED_AFTER
            FormSubmission.objects.using(using).filter(token=token, result_url="", created_at__lt=stale).delete()
            return FormSubmission.objects.using(using).create(token=token, user=request.user, path=request.path[:300])
    except IntegrityError:
        return None


def _after_twin(request, handle, token, using):
    """Another submit of this form holds the token: wait for its result, then go there too."""
    deadline = time.monotonic() + TWIN_WAIT.total_seconds()
    while True:
        done = _finished(token, using)
        if done is None:  # the other one failed and gave the token back: this one tries
            return _submit_files_first(request, handle, token, using)
        if done.result_url:
            return _replay(request, done)
        if time.monotonic() > deadline:
            return HttpResponse(STILL_SAVING, status=409, content_type="text/plain; charset=utf-8")
        time.sleep(0.05)


class OncePerSubmission:
    """View mixin: each POST form is saved once (see the module's docstring). It wraps the whole
    view, its own dispatch() included, so a replay is known before any lookup or check answers
    for an object the first submit changed (a payment's "already paid", an archived patient's 404)."""

    stores_files_first = False  # uploads: the file is stored before the write's transaction

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        files_first = initkwargs.get("stores_files_first", cls.stores_files_first)

        def once(request, *args, **kwargs):
            if request.method != "POST":
                return view(request, *args, **kwargs)
            return submit_once(request, lambda: view(request, *args, **kwargs), stores_files_first=files_first)

        return functools.wraps(view)(once)  # keeps view_class and the markers Django reads


# --- the API: a POST with an Idempotency-Key header is done once ----------------------------------


def idempotency_key(request):
    """The API call's Idempotency-Key header as a UUID, or None when it has none."""
    from rest_framework import exceptions

    value = request.headers.get("Idempotency-Key", "")
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise exceptions.ValidationError({"Idempotency-Key": ["Must be a UUID."]}) from None


def done_once(request, handle):
    """The API's twin of submit_once: run `handle()` (a write answering 2xx with a Location) once per
    Idempotency-Key of this caller; a replay is answered 303 to what the first one made."""
    from rest_framework import exceptions, status
    from rest_framework.response import Response

    key = idempotency_key(request)
    if key is None:
        return handle()
    using = router.db_for_write(FormSubmission)
    with transaction.atomic(using=using):
        _lock_token(key, using)  # twins wait for the first; other writes do not
        done = FormSubmission.objects.using(using).filter(token=key).first()
        if done is not None:
            if done.user_id != request.user.pk:
                raise exceptions.PermissionDenied("That Idempotency-Key belongs to another caller.")
            return Response(status=status.HTTP_303_SEE_OTHER, headers={"Location": done.result_url})
        response = handle()
        if 200 <= response.status_code < 300 and response.get("Location"):
            FormSubmission.objects.using(using).create(
                token=key, user=request.user, path=request.path[:300], result_url=response["Location"][:500]
            )
    return response
