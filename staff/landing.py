"""Where each member of staff lands after signing in: the page their day starts on."""

from django.contrib.auth import views as auth_views
from django.urls import reverse

from clinic.forms import SignInForm


def landing_url(user) -> str:
    """Doctors start on My day, administrators on the staff pages, managers in the admin where the
    finances are kept; reception and nurses (and anyone else) on Today's board."""
    if user.has_perm("clinical.add_medicalrecord") and getattr(user, "doctor", None) is not None:
        return reverse("clinical:my_day")
    if user.has_perm("staff.view_user"):
        return reverse("staff:list")
    if user.is_staff and user.has_perm("finance.view_monthlyreport"):
        return reverse("admin:index")
    return reverse("home")


class SignInView(auth_views.LoginView):
    """Django's sign-in, ending on the person's own landing page unless a `next` page was asked for."""

    redirect_authenticated_user = True
    form_class = SignInForm

    def get_default_redirect_url(self):
        return landing_url(self.request.user)
