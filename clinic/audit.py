"""Writing and checking the audit trail.

- `record(action, obj)` appends one entry for the current request's user, address and client.
- `Audited` (a model mixin) records every create, change (named: sign, archive, status...) and
  delete of a model, inside the same transaction as the write itself.
- `RecordsAccess` (a view mixin) records that a page or file showing a patient's data was served.
- `verify()` walks the chain and reports every entry that does not match.

The chain: each entry's hash is an HMAC (key AUDIT_KEY, kept outside the database) of its content
and of the previous entry's hash. Someone who can write to the database but does not hold the key
cannot edit, insert or delete an entry without `verify()` seeing it; only a cut-off of the newest
entries leaves no gap, which is why `verify_audit` prints the head for keeping elsewhere.
Entries are chained in one order: PostgreSQL takes a transaction-scoped advisory lock before
writing (held to commit, so the next writer sees this entry); SQLite already runs one write
transaction at a time (BEGIN IMMEDIATE).
"""

import hashlib
import hmac
import ipaddress
import json
import sys
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from clinic.context import client_address, current_request
from clinic.models import AuditEntry

Action = AuditEntry.Action
GENESIS = "0" * 64
_LOCK_KEY = 7_411_202_611  # an arbitrary constant naming the audit chain's advisory lock
# Fields whose change says nothing about the data (they move with every save).
_IGNORED_FIELDS = {"updated_at"}


def _key():
    # Derived from SECRET_KEY unless AUDIT_KEY is set (then SECRET_KEY can rotate without re-keying the trail).
    key = settings.AUDIT_KEY or hashlib.sha256(b"clinic-audit:" + settings.SECRET_KEY.encode()).hexdigest()
    return key.encode()


def entry_hash(entry):
    content = [
        entry.seq,
        entry.prev_hash,
        entry.at.astimezone(UTC).isoformat(),
        entry.user_id,
        entry.username,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.patient_id,
        entry.summary,
        # Bytes, not text: "::ffff:192.0.2.10" is written differently by Python and by each database.
        ipaddress.ip_address(entry.ip).packed.hex() if entry.ip else None,
        entry.user_agent,
        entry.request_id,
    ]
    if entry.name:
        # Added later: entries written before it have no name and keep their hashes.
        content.append(entry.name)
    message = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def lock_chain(using="default"):
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def lock_rows(queryset, **options):
    """`queryset.select_for_update(no_key=True)`, after the audit chain's lock.

    A transaction that writes an audited row holds the chain's lock to its commit. Taking it before
    any row lock gives every transaction one order (chain, then rows), so two never wait on each
    other the other way round (PostgreSQL would abort one with "deadlock detected"). NO KEY UPDATE
    leaves other transactions' references to the locked row unblocked."""
    lock_chain(queryset.db)
    return queryset.select_for_update(no_key=True, **options)


def _who():
    """(user, username, name, address, client, request id) of the request being served, or the command."""
    request = current_request()
    if request is None:
        command = " ".join(sys.argv[1:2]) or "python"
        return None, "", "", None, f"manage.py {command}"[:200], ""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        user = None
    return (
        user,
        user.get_username() if user else "",
        user.get_full_name()[:301] if user else "",
        client_address(request) or None,
        request.headers.get("User-Agent", "")[:200],
        getattr(request, "request_id", ""),
    )


def _describe(obj):
    """(object type, object id, patient id) of what an entry is about."""
    if obj is None:
        return "", "", None
    patient_id = obj.audit_patient_id() if hasattr(obj, "audit_patient_id") else getattr(obj, "patient_id", None)
    return obj._meta.label_lower, str(obj.pk or ""), patient_id


def record(action, obj=None, *, summary="", patient_id=None, using=None, chain_locked=False):
    """Append one entry, in the caller's transaction when there is one (`chain_locked`: the caller
    already holds the chain's lock in it)."""
    object_type, object_id, obj_patient = _describe(obj)
    user, username, name, ip, client, request_id = _who()
    using = using or router.db_for_write(AuditEntry)
    with transaction.atomic(using=using, savepoint=False):
        if not chain_locked:
            lock_chain(using)
        last = AuditEntry.objects.using(using).order_by("-seq").values_list("seq", "hash").first()
        entry = AuditEntry(
            seq=(last[0] + 1) if last else 1,
            prev_hash=last[1] if last else GENESIS,
            at=timezone.now(),
            user=user,
            username=username,
            name=name,
            action=action,
            object_type=object_type,
            object_id=object_id,
            patient_id=patient_id if patient_id is not None else obj_patient,
            summary=summary[:300],
            ip=ip,
            user_agent=client,
            request_id=request_id,
        )
        entry.hash = entry_hash(entry)
        entry.save(using=using, force_insert=True)
    return entry


class Audited:
    """Mixin for models holding patient, clinical, scheduling, document or finance data.

    Put it before models.Model: `class Appointment(Audited, models.Model)`. The model's own save()
    and delete() run their checks first, then this writes the row and its entry in one transaction.
    A model names its special changes in `audit_status_actions` ({new status: action}) or by
    overriding `audit_action()`, and says whose record it belongs to with `audit_patient_id()`.
    """

    audit_status_actions = {}
    audit_derived_fields = frozenset()  # kept in step with other fields: not worth naming

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # What the row held when loaded, to name what a save changes (no extra query).
        instance._audit_loaded = dict(zip(field_names, values, strict=True))
        return instance

    def audit_patient_id(self):
        return getattr(self, "patient_id", None)

    def _audit_changes(self, update_fields):
        loaded = getattr(self, "_audit_loaded", None)
        if loaded is None:
            return None  # not loaded from the database: changed, but nobody knows what
        changes = {}
        for field in self._meta.concrete_fields:
            name = field.attname
            if name not in loaded or field.name in _IGNORED_FIELDS or field.name in self.audit_derived_fields:
                continue
            if update_fields is not None and field.name not in update_fields and name not in update_fields:
                continue
            if getattr(self, name) != loaded[name]:
                changes[field.name] = (loaded[name], getattr(self, name))
        return changes

    def audit_action(self, changes):
        """The action and summary for a save of an existing row with these {field: (old, new)}."""
        if "is_archived" in changes:
            return (Action.ARCHIVE if changes["is_archived"][1] else Action.RESTORE), ""
        if "status" in changes:
            old, new = changes["status"]
            return self.audit_status_actions.get(new, Action.STATUS), f"status: {old} → {new}"
        return Action.CHANGE, "changed: " + ", ".join(sorted(changes))

    def audit_read_under_lock(self, **stored):
        """Values just read from the row under a lock: a save names its change from these, not from
        what this (perhaps stale) instance loaded earlier."""
        loaded = getattr(self, "_audit_loaded", None) or {}
        loaded.update({self._meta.get_field(name).attname: value for name, value in stored.items()})
        self._audit_loaded = loaded

    def _remember_loaded(self):
        self._audit_loaded = {field.attname: getattr(self, field.attname) for field in self._meta.concrete_fields}

    def save(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        adding = self._state.adding
        with transaction.atomic(using=using, savepoint=False):
            lock_chain(using)  # before the row is written, so no writer waits on us while holding it
            super().save(*args, **kwargs)
            if adding:
                action, summary = self.audit_create_action(), ""
            else:
                changes = self._audit_changes(kwargs.get("update_fields"))
                if changes == {}:
                    self._remember_loaded()
                    return
                action, summary = self.audit_action(changes) if changes else (Action.CHANGE, "")
            record(action, self, summary=summary, using=using, chain_locked=True)
        self._remember_loaded()

    def audit_create_action(self):
        return Action.CREATE

    def delete(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            record(Action.DELETE, self, using=using)
            return super().delete(*args, **kwargs)


class RecordsAccess:
    """View mixin: once a page or file showing a patient's data is ready to go out (status 200 to a
    GET), record who saw what. If the entry cannot be written, the data is not served."""

    audit_action = Action.VIEW
    audit_summary = ""

    def audit_object(self):
        return getattr(self, "object", None)

    def record_access(self, response):
        """The view's object (and through it, the patient); override to say more."""
        record(self.audit_action, self.audit_object(), summary=self.audit_summary)

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            self.record_access(response)
        return response


@dataclass
class Break:
    seq: int
    problem: str


def verify(*, using="default", chunk_size=2000):
    """Walk the chain in order; returns (entries checked, head entry or None, [Break])."""
    breaks, count, previous = [], 0, None
    for entry in AuditEntry.objects.using(using).order_by("seq").iterator(chunk_size=chunk_size):
        count += 1
        expected_seq = previous.seq + 1 if previous else 1
        expected_prev = previous.hash if previous else GENESIS
        if entry.seq != expected_seq:
            breaks.append(Break(entry.seq, f"entries {expected_seq}–{entry.seq - 1} are missing"))
        if entry.prev_hash != expected_prev:
            breaks.append(Break(entry.seq, "does not link to the entry before it"))
        if not hmac.compare_digest(entry.hash, entry_hash(entry)):
            breaks.append(Break(entry.seq, "its content does not match its hash (edited)"))
        previous = entry
    return count, previous, breaks
