"""Unsaved form text, kept for its author so that nothing typed is lost at an idle sign-out.

static/js/keep-draft.js sends a `form[data-keep-draft]`'s fields here every few seconds while they
change and just before the session would end; after signing in again the same form asks for them back
and fills itself in. A draft is one row per person and page; it goes when that page's form is saved
(a redirect after its POST: `ForgetSavedDraftMiddleware`), when its author discards it, or after
FORM_DRAFT_DAYS. Nobody but the author ever reads it.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .idempotency import TOKEN_FIELD
from .models import FormDraft, FormSubmission

# Bounds on what one browser may store: a clinical note is a few kilobytes; a form a few dozen fields.
MAX_BYTES = 200_000
MAX_FIELDS = 400
MAX_DRAFTS_PER_PERSON = 50
# Never kept: the one-time tokens (a restored form must submit with its own fresh ones).
NOT_KEPT = frozenset({"csrfmiddlewaretoken", TOKEN_FIELD})


class DraftRefused(ValueError):
    """What was sent is not a draft this clinic keeps (too big, not pairs of strings, no path)."""


def clean_fields(raw):
    """[[name, value], ...] of strings, tokens dropped; DraftRefused otherwise."""
    if not isinstance(raw, list) or len(raw) > MAX_FIELDS:
        raise DraftRefused(f"fields must be a list of at most {MAX_FIELDS} [name, value] pairs")
    fields = []
    for pair in raw:
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair)):
            raise DraftRefused("each field is a [name, value] pair of strings")
        if pair[0] not in NOT_KEPT and "\x00" not in pair[0] + pair[1]:
            fields.append(pair)
    return fields


def clean_path(path):
    if not isinstance(path, str) or not path.startswith("/") or len(path) > 300 or "\x00" in path:
        raise DraftRefused("path must be this site's path of the form's page")
    return path


def _cutoff():
    return timezone.now() - timedelta(days=settings.FORM_DRAFT_DAYS)


@transaction.atomic
def keep_draft(*, user, path, fields, token=None):
    """Keep (or replace) `user`'s draft of the form at `path`; None when the form that sent it (its
    one-time `token`) has already been saved: a keep that arrives late must not bring back old text."""
    path, fields = clean_path(path), clean_fields(fields)
    if token is not None and FormSubmission.objects.filter(token=token).exists():
        return None
    text = json.dumps(fields, ensure_ascii=False)
    if len(text.encode()) > MAX_BYTES:
        raise DraftRefused(f"a draft is at most {MAX_BYTES} bytes")
    FormDraft.objects.filter(saved_at__lt=_cutoff()).delete()
    values = {"fields": text, "saved_at": timezone.now()}
    try:
        with transaction.atomic():
            draft, _ = FormDraft.objects.update_or_create(user=user, path=path, defaults=values)
    except IntegrityError:
        # Two saves of the same form at once (two tabs): the other one created the row; write over it.
        FormDraft.objects.filter(user=user, path=path).update(**values)
        draft = FormDraft.objects.get(user=user, path=path)
    # The oldest beyond the cap go: a runaway script cannot fill the table.
    newest = FormDraft.objects.filter(user=user).order_by("-saved_at", "-pk").values_list("pk", flat=True)
    FormDraft.objects.filter(user=user).exclude(pk__in=list(newest[:MAX_DRAFTS_PER_PERSON])).delete()
    return draft


def kept_draft(*, user, path):
    """`user`'s unsaved draft of the form at `path` as {"fields", "saved_at"}, or None."""
    draft = FormDraft.objects.filter(user=user, path=path, saved_at__gte=_cutoff()).first()
    if draft is None:
        return None
    return {"fields": json.loads(draft.fields), "saved_at": draft.saved_at}


def forget_draft(*, user, path):
    """The form was saved (or its author threw the draft away): nothing to bring back any more."""
    return FormDraft.objects.filter(user=user, path=path).delete()[0]


class ForgetSavedDraftMiddleware:
    """A form's successful POST (it redirects) on a page forgets that page's draft for its author."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if (
            request.method == "POST"
            and 300 <= response.status_code < 400
            and user is not None
            and user.is_authenticated
        ):
            forget_draft(user=user, path=request.path)
        return response
