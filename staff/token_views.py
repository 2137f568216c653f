"""“Your API tokens”: a member of staff makes keys for the JSON API and FHIR, sees them, revokes them.

A token acts as its owner with the owner's roles, so making one needs no role of its own; each page
acts on request.user's tokens only. The key is shown once, on the page the form leads to.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.generic import FormView, View

from clinic.idempotency import OncePerSubmission
from clinic.permissions import SignedIn

from .forms import APITokenForm
from .models import APIToken
from .services import create_api_token, revoke_api_token

_NEW_KEY = "new_api_key"  # in the session, for one showing


class APITokensView(OncePerSubmission, SignedIn, FormView):
    template_name = "staff/api_tokens.html"
    form_class = APITokenForm

    def get_context_data(self, **kwargs):
        tokens = APIToken.objects.filter(user=self.request.user)[:100]
        new_key = self.request.session.pop(_NEW_KEY, None)
        return super().get_context_data(tokens=tokens, new_key=new_key, **kwargs)

    def form_valid(self, form):
        try:
            token, key = create_api_token(user=self.request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        self.request.session[_NEW_KEY] = {"name": token.name, "key": key}
        messages.success(self.request, f"Token “{token.name}” made. Copy its key now: it is not shown again.")
        return HttpResponseRedirect(reverse("staff:api_tokens"))


class RevokeAPITokenView(OncePerSubmission, SignedIn, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        token = get_object_or_404(APIToken, pk=pk, user=request.user)
        revoke_api_token(token=token, by=request.user)
        messages.success(request, f"Token “{token.name}” revoked: calls made with it are refused from now on.")
        return HttpResponseRedirect(reverse("staff:api_tokens"))
