"""What keeps a person's work safe while they are signed in (static/js/keep-draft.js calls these):
a keep-alive while they are actively working, and their unsaved form drafts (clinic/drafts.py)."""

import json
import uuid

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.views import View

from .drafts import DraftRefused, clean_path, forget_draft, keep_draft, kept_draft
from .permissions import SignedIn


class KeepAliveView(SignedIn, View):
    """The page saw the person typing or clicking: this request renews the session (every request
    does), so working in one long form is not idleness. An unattended page never calls it."""

    http_method_names = ["post"]

    def post(self, request):
        return JsonResponse({"idle_seconds": settings.SESSION_COOKIE_AGE})


class DraftView(SignedIn, View):
    """GET ?path=: one's own draft of that page's form ({"fields": null} when none). POST {path, fields,
    token}: keep it (unless that form, by its one-time token, was saved already)."""

    http_method_names = ["get", "post"]

    def get(self, request):
        try:
            path = clean_path(request.GET.get("path"))
        except DraftRefused as refusal:
            return HttpResponseBadRequest(str(refusal))
        draft = kept_draft(user=request.user, path=path)
        if draft is None:
            return JsonResponse({"fields": None})
        return JsonResponse({"fields": draft["fields"], "saved_at": draft["saved_at"].isoformat()})

    def post(self, request):
        try:
            sent = json.loads(request.body or b"null")
            if not isinstance(sent, dict):
                raise DraftRefused("send {path, fields}")
            fields, token = sent.get("fields"), sent.get("token")
            token = uuid.UUID(token) if isinstance(token, str) and token else None
            draft = keep_draft(user=request.user, path=sent.get("path"), fields=fields, token=token)
        except (ValueError, UnicodeDecodeError) as refusal:  # DraftRefused, bad JSON, a bad token alike
            return HttpResponseBadRequest(str(refusal) if isinstance(refusal, DraftRefused) else "not a draft")
        return JsonResponse(
            {"saved_at": draft.saved_at.isoformat() if draft else None, "idle_seconds": settings.SESSION_COOKIE_AGE}
        )


class DiscardDraftView(SignedIn, View):
    """Throw one's own draft of a page away (the "Discard" of the restored-text notice)."""

    http_method_names = ["post"]

    def post(self, request):
        try:
            path = clean_path(request.POST.get("path"))
        except DraftRefused as refusal:
            return HttpResponseBadRequest(str(refusal))
        return JsonResponse({"discarded": forget_draft(user=request.user, path=path)})
