from django.urls import path

from . import feed_views, security_views, token_views, views

app_name = "staff"

urlpatterns = [
    path("", views.StaffListView.as_view(), name="list"),
    path("new/", views.StaffCreateView.as_view(), name="create"),
    path("<int:pk>/edit/", views.StaffUpdateView.as_view(), name="edit"),
    path("<int:pk>/deactivate/", views.StaffActivationView.as_view(), name="deactivate"),
    path("<int:pk>/reactivate/", views.StaffActivationView.as_view(activate=True), name="reactivate"),
    path("<int:pk>/doctor/", views.DoctorProfileView.as_view(), name="doctor_profile"),
    path("doctors/", views.DoctorListView.as_view(), name="doctors"),
    # Sign-in security: administrators, for someone else.
    path("<int:pk>/security/", security_views.StaffSecurityView.as_view(), name="security"),
    path("<int:pk>/reset-two-factor/", security_views.ResetTwoFactorView.as_view(), name="reset_two_factor"),
    path("<int:pk>/sign-out-everywhere/", security_views.SignOutEverywhereView.as_view(), name="sign_out_everywhere"),
    # Sign-in security: everyone's own.
    path("me/two-factor/", security_views.TwoFactorView.as_view(), name="two_factor"),
    path("me/two-factor/set-up/", security_views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("me/two-factor/backup-codes/", security_views.BackupCodesView.as_view(), name="backup_codes"),
    path("me/two-factor/backup-codes/new/", security_views.NewBackupCodesView.as_view(), name="new_backup_codes"),
    path("me/two-factor/turn-off/", security_views.TurnOffTwoFactorView.as_view(), name="two_factor_disable"),
    path("me/two-factor/code/", security_views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("me/sessions/", security_views.SessionsView.as_view(), name="sessions"),
    path("me/sessions/sign-out-others/", security_views.SignOutOtherSessionsView.as_view(), name="sign_out_others"),
    # Keys for the JSON API and FHIR: everyone's own.
    path("me/api-tokens/", token_views.APITokensView.as_view(), name="api_tokens"),
    path("me/api-tokens/<int:pk>/revoke/", token_views.RevokeAPITokenView.as_view(), name="api_token_revoke"),
    # A doctor's private calendar feed (served by scheduling/feeds.py): their own; administrators revoke anyone's.
    path("me/calendar-feed/", feed_views.CalendarFeedView.as_view(), name="calendar_feed"),
    path("me/calendar-feed/revoke/", feed_views.RevokeCalendarFeedView.as_view(), name="calendar_feed_revoke"),
    path("<int:pk>/calendar-feed/", feed_views.StaffCalendarFeedView.as_view(), name="calendar_feed_for"),
]
