"""The audit trail: who saw or changed which patient's data, when, from where.

Entries are append-only (model, queryset and database triggers refuse changes and deletions) and
each carries an HMAC of its content chained to the previous entry's, so an edit or a deletion made
directly in the database is found by `manage.py verify_audit` (clinic/audit.py).
"""

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models.functions import Upper


class AuditTrailError(Exception):
    """Raised for any attempt to change or delete an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditTrailError("Audit entries never change.")

    def delete(self):
        raise AuditTrailError("Audit entries are never deleted.")

    def bulk_create(self, *args, **kwargs):
        raise AuditTrailError("Audit entries are written through clinic.audit (record, or bulk_record for imports).")

    def bulk_update(self, *args, **kwargs):
        raise AuditTrailError("Audit entries never change.")


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "viewed"
        SEARCH = "search", "searched"
        DOWNLOAD = "download", "downloaded"
        CREATE = "create", "created"
        CHANGE = "change", "changed"
        STATUS = "status", "changed status"
        RESCHEDULE = "reschedule", "rescheduled"
        SIGN = "sign", "signed"
        AMEND = "amend", "amended"
        ARCHIVE = "archive", "archived"
        RESTORE = "restore", "restored"
        REVERSE = "reverse", "reversed"
        DELETE = "delete", "deleted"
        # Staff accounts: who may do what, and who they are.
        ROLES = "roles", "changed roles"
        PASSWORD = "password", "set password"
        RENAME = "rename", "renamed"

    # The place in the chain, the link to the entry before and the chain's hash: empty ("unsealed")
    # until clinic.audit.seal() chains the entry, just after its transaction commits.
    seq = models.BigIntegerField(unique=True, null=True, editable=False)
    at = models.DateTimeField(editable=False)
    # No index of their own (db_index=False): audit_user_id and audit_patient_id below begin with them,
    # and every index is one more write for each entry.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    # Who it was at the time, username and full name: accounts are renamed, the trail is not.
    username = models.CharField(max_length=150, editable=False)
    name = models.CharField(max_length=301, blank=True, editable=False)
    action = models.CharField(max_length=12, choices=Action.choices, editable=False)
    object_type = models.CharField(max_length=60, blank=True, editable=False)
    object_id = models.CharField(max_length=40, blank=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    summary = models.CharField(max_length=300, blank=True, editable=False)
    ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=200, blank=True, editable=False)
    request_id = models.CharField(max_length=64, blank=True, editable=False)
    # A random nonce and the HMAC of the entry's own content, written with it (clinic.audit.entry_mac):
    # an entry nobody has sealed yet still cannot be edited or forged. Empty on entries written before.
    mac = models.CharField(max_length=80, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, null=True, editable=False)
    # Not unique (no index to keep up): seq is, and each hash covers the one before it.
    hash = models.CharField(max_length=64, null=True, editable=False)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]  # in the order written; seq is given a moment later, at sealing
        verbose_name_plural = "audit entries"
        # Only reading exists: no role can be given a right to add, change or delete entries.
        default_permissions = ("view",)
        indexes = [
            # A search by dates reads its range in the order shown (by time, then id), not sorting it.
            models.Index(fields=["-at", "-id"], name="audit_at_id"),
            # Each filter of the audit pages, in their order (newest first).
            models.Index(fields=["patient", "-id"], name="audit_patient_id"),
            models.Index(fields=["user", "-id"], name="audit_user_id"),
            models.Index(fields=["action", "-id"], name="audit_action_id"),
            # The entries waiting to be sealed: a few at any moment, found without reading the trail.
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed"),
            # A username once in the trail is never given to another account (staff.services).
            models.Index(Upper("username"), name="audit_username_upper"),
        ]
        constraints = [
            # A copy of an entry (same nonce and MAC) cannot be slipped in beside it.
            models.UniqueConstraint(fields=["mac"], condition=~models.Q(mac=""), name="audit_mac_unique"),
        ]

    def __str__(self):
        return f"#{self.seq or '-'} {self.username or 'system'} {self.action} {self.object_type} {self.object_id}"

    @property
    def who(self):
        """The person as they were named when they acted: "Anna Jones (ajones)"."""
        if not self.username:
            return "system"
        return f"{self.name} ({self.username})" if self.name else self.username

    @property
    def object_label(self):
        """What the entry is about, in words: "Medical record #3129" (from the app registry, no query)."""
        if not self.object_type:
            return ""
        try:
            name = str(apps.get_model(self.object_type)._meta.verbose_name)
            name = name[:1].upper() + name[1:]
        except LookupError:  # a model since removed: its label says enough
            name = self.object_type
        return f"{name} #{self.object_id}" if self.object_id else name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditTrailError("Audit entries never change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailError("Audit entries are never deleted.")


class FormSubmission(models.Model):
    """One submitted form, by its one-time token (clinic/idempotency.py): a replay of the same form
    finds this row and goes to its result instead of writing again."""

    token = models.UUIDField(unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False)
    path = models.CharField(max_length=300, editable=False)
    # Where the first submit led; empty while a files-first submit is still being saved.
    result_url = models.CharField(max_length=500, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.path} ({self.token})"


class FormDraft(models.Model):
    """What someone typed into a form and has not saved yet, kept for them alone (clinic/drafts.py):
    an idle sign-out, a closed laptop or a lost connection loses no more than the last few seconds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False)
    path = models.CharField(max_length=300, editable=False)
    # [[name, value], ...] in the form's order (a name may repeat), as JSON text: portable to both databases.
    fields = models.TextField(editable=False)
    saved_at = models.DateTimeField(editable=False, db_index=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["user", "path"], name="one_draft_per_form_and_person")]

    def __str__(self):
        return f"{self.path} ({self.saved_at:%Y-%m-%d %H:%M})"


class UsedLink(models.Model):
    """A patient's single-use link that has been used (clinic/links.py): its nonce's digest, unique."""

    digest = models.CharField(max_length=64, unique=True, editable=False)
    purpose = models.CharField(max_length=40, editable=False)
    used_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When the link itself expires: an expired link is refused before this row is looked for, so the
    # row can go (clinic.worker.forget_spent_tokens). Empty for links used before it was recorded.
    expires_at = models.DateTimeField(null=True, editable=False, db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"{self.purpose} link used {self.used_at:%Y-%m-%d %H:%M}"


class WorkerHeartbeat(models.Model):
    """A background worker (`manage.py run_worker`, clinic/worker.py) and when it was last seen alive.

    Also the admin's "Background work" page and its permission (clinic/admin.py)."""

    worker_id = models.CharField(max_length=64, unique=True, editable=False)
    host = models.CharField(max_length=255, editable=False)
    pid = models.PositiveIntegerField(editable=False)
    started_at = models.DateTimeField(editable=False)
    last_seen = models.DateTimeField(db_index=True, editable=False)
    # Set when the worker stopped cleanly (SIGTERM, Ctrl-C); a worker killed outright just stops being seen.
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        default_permissions = ("view",)
        verbose_name = "background work"
        verbose_name_plural = "background work"

    def __str__(self):
        return f"worker {self.worker_id} on {self.host} (pid {self.pid})"
