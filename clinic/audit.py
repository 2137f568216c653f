"""Writing and checking the audit trail.

- `record(action, obj)` appends one entry for the current request's user, address and client.
- `Audited` (a model mixin) records every create, change (named: sign, archive, status...) and
  delete of a model, inside the same transaction as the write itself.
- `RecordsAccess` (a view mixin) records that a page or file showing a patient's data was served.
- `seal()` chains the entries written since it last ran; `verify()` checks the whole trail.

Every entry carries `mac`: a random nonce and an HMAC (key AUDIT_KEY, kept outside the database)
of its own content, computed as it is written. The chain: each entry's `hash` is an HMAC of its
content, its place `seq`, the previous entry's hash and its mac. Someone who can write to the
database but does not hold the key cannot edit, insert or delete an entry without `verify()` seeing
it; only a cut-off of the newest entries leaves no gap, which is why `verify_audit` prints the head.

Writers do not wait for each other to chain. An entry is written in its transaction "unsealed"
(seq, prev_hash and hash empty; its mac already guards it) and chained just after that transaction
commits, by `seal()`: one connection at a time (a session-level advisory try-lock; whoever finds it
taken leaves the work to its holder) gives the committed unsealed entries, in the order written,
the next places in the chain. A lock held to commit by every audited write made PostgreSQL book
one appointment after another (~10/s under 50 receptionists). SQLite runs one write transaction at
a time anyway (BEGIN IMMEDIATE), so there an entry is chained as it is written, with no extra query.
"""

import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
import sys
from dataclasses import dataclass
from datetime import UTC, timedelta
from itertools import islice
from types import SimpleNamespace

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Count
from django.utils import timezone

from clinic.context import client_address, current_request
from clinic.models import AuditEntry

Action = AuditEntry.Action
GENESIS = "0" * 64
_SEAL_LOCK_KEY = 7_411_202_612  # the sealer's (session-level) advisory lock
# Fields whose change says nothing about the data (they move with every save).
_IGNORED_FIELDS = {"updated_at"}
# An entry still unsealed this long after it was written was left behind by a sealer that stopped.
SEALING_OVERDUE = timedelta(minutes=1)
_NONCE_CHARS = 16
# What an entry says (the columns a writer fills in), and with its id and mac, what a seal reads.
_BULK_FIELDS = [
    "at",
    "user_id",
    "username",
    "name",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "summary",
    "ip",
    "user_agent",
    "request_id",
]
_CONTENT_FIELDS = ["id", *_BULK_FIELDS, "mac"]


def _key():
    # Derived from SECRET_KEY unless AUDIT_KEY is set (then SECRET_KEY can rotate without re-keying the trail).
    key = settings.AUDIT_KEY or hashlib.sha256(b"clinic-audit:" + settings.SECRET_KEY.encode()).hexdigest()
    return key.encode()


def _content(entry):
    return [
        entry.at.astimezone(UTC).isoformat(),
        entry.user_id,
        entry.username,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.patient_id,
        entry.summary,
        _packed(entry.ip) if entry.ip else None,
        entry.user_agent,
        entry.request_id,
    ]


@functools.lru_cache(maxsize=4096)  # a clinic's entries come from a few addresses; sealing a million parses each once
def _packed(ip):
    # Bytes, not text: "::ffff:192.0.2.10" is written differently by Python and by each database.
    return ipaddress.ip_address(ip).packed.hex()


def _hmac(content):
    message = json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def entry_mac(entry, nonce=None):
    """The entry's own seal as written: its nonce followed by an HMAC of the nonce and its content.
    The nonce makes every mac unique (a unique index), so a copy of an entry cannot be inserted."""
    nonce = nonce or entry.mac[:_NONCE_CHARS]
    return nonce + _hmac(["entry", nonce, *_content(entry), entry.name])


def entry_hash(entry):
    """The chain's hash of a sealed entry."""
    if entry.mac:
        return _hmac(["sealed", entry.seq, entry.prev_hash, *_content(entry), entry.name, entry.mac])
    # Entries chained as they were written, before entries carried a mac, keep their hashes.
    content = [entry.seq, entry.prev_hash, *_content(entry)]
    if entry.name:
        # Added later: entries written before it have no name and keep their hashes.
        content.append(entry.name)
    return _hmac(content)


def lock_rows(queryset, **options):
    """`queryset.select_for_update(no_key=True)`: NO KEY UPDATE leaves other transactions'
    references to the locked row unblocked. (Audited writes take no other lock, so rows are the
    only locks a transaction holds and their order is the caller's.)"""
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
        # An API call names its client (the token's name, set by its authentication), not a browser.
        (getattr(request, "api_client", "") or request.headers.get("User-Agent", ""))[:200],
        getattr(request, "request_id", ""),
    )


def _describe(obj):
    """(object type, object id, patient id) of what an entry is about."""
    if obj is None:
        return "", "", None
    patient_id = obj.audit_patient_id() if hasattr(obj, "audit_patient_id") else getattr(obj, "patient_id", None)
    return obj._meta.label_lower, str(obj.pk or ""), patient_id


def record(action, obj=None, *, summary="", patient_id=None, using=None):
    """Append one entry, in the caller's transaction when there is one."""
    object_type, object_id, obj_patient = _describe(obj)
    user, username, name, ip, client, request_id = _who()
    using = using or router.db_for_write(AuditEntry)
    entry = AuditEntry(
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
    entry.mac = entry_mac(entry, secrets.token_hex(_NONCE_CHARS // 2))
    with transaction.atomic(using=using, savepoint=False):
        if _chains_as_written(using):
            _chain_now(entry, using)
            entry.save(using=using, force_insert=True)
        else:
            entry.save(using=using, force_insert=True)
            _seal_after_commit(using)
    return entry


def _chains_as_written(using):
    # SQLite has one writer at a time: chaining in the writer's transaction costs no waiting.
    return connections[using].vendor == "sqlite"


def _chain_now(entry, using):
    """Give the entry the next place in the chain (the caller writes one at a time)."""
    entries = AuditEntry.objects.using(using)
    last = entries.order_by("-id").values_list("seq", "hash").first()
    if last is not None and last[0] is None:  # entries written unsealed (bulk_record) come first
        seal(using=using)
        last = entries.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
    entry.seq, entry.prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
    entry.hash = entry_hash(entry)


_sealers = {}


def _seal_after_commit(using):
    """Once per transaction: seal after it commits (then its entries are visible to the sealer)."""
    sealer = _sealers.get(using)
    if sealer is None:
        # Not waiting for the disk: a seal lost in a crash is only entries unsealed again (the entries
        # themselves were committed by the writer), sealed by the next commit or verify_audit.
        sealer = _sealers[using] = lambda: seal(using=using, wait_for_disk=False)
    connection = connections[using]
    if not any(callback is sealer for _, callback, _ in connection.run_on_commit):
        # robust: the write is committed whatever happens here; the next commit's seal (or
        # verify_audit) takes any entry left unsealed.
        transaction.on_commit(sealer, using=using, robust=True)


def seal(*, using="default", batch_size=2000, wait_for_disk=True):
    """Chain every committed unsealed entry, in the order written; returns how many it sealed.

    Lock-free for writers: if another connection is sealing, return at once; it looks again for
    entries committed meanwhile after it lets go, and so does this one, so none is left behind."""
    connection = connections[using]
    sealed = 0
    while True:
        if not _try_lock(connection):
            return sealed
        try:
            after = 0
            while True:
                count, after = _seal_batch(using, batch_size, wait_for_disk, after)
                sealed += count
                if count < batch_size:
                    break
        finally:
            _unlock(connection)
        # Committed while we held the lock, by a writer whose own seal found it taken.
        if not AuditEntry.objects.using(using).filter(seq__isnull=True).exists():
            return sealed


def _try_lock(connection):
    if connection.vendor != "postgresql":
        return True  # SQLite: the write transaction is the lock
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SEAL_LOCK_KEY])
        return cursor.fetchone()[0]


def _unlock(connection):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_SEAL_LOCK_KEY])


def _seal_batch(using, batch_size, wait_for_disk=True, after=0):
    """Seal the next batch of unsealed entries with an id above `after`; (how many, the last id).

    `after` moves on from batch to batch, so each reads onwards from where the last one stopped even
    when the planner walks the primary key (a bulk-loaded table without statistics) instead of the
    partial index; an entry below it committed meanwhile is found by seal()'s re-check."""
    entries = AuditEntry.objects.using(using)
    with transaction.atomic(using=using):
        if not wait_for_disk and connections[using].vendor == "postgresql":
            with connections[using].cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        last = entries.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
        waiting = entries.filter(seq__isnull=True, id__gt=after).order_by("id").values(*_CONTENT_FIELDS)[:batch_size]
        seq, prev_hash = last or (0, GENESIS)
        rows = []
        for values in waiting:
            entry = SimpleNamespace(**values, seq=seq + 1, prev_hash=prev_hash)
            seq, prev_hash = entry.seq, entry_hash(entry)
            rows.append((entry.id, seq, entry.prev_hash, prev_hash))
        if rows:
            _write_seals(connections[using], rows)
        return len(rows), (rows[-1][0] if rows else after)


_TABLE = AuditEntry._meta.db_table


def _write_seals(connection, rows):
    """[(id, seq, prev_hash, hash)] in one statement; the append-only triggers allow exactly this."""
    if connection.vendor == "postgresql":
        ids, seqs, links, hashes = zip(*rows, strict=True)
        sql = (
            f"UPDATE {_TABLE} SET seq = s.seq, prev_hash = s.prev_hash, hash = s.hash "  # noqa: S608 (constant names)
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS s (id, seq, prev_hash, hash) "
            f"WHERE {_TABLE}.id = s.id AND {_TABLE}.seq IS NULL"
        )
        params = [list(ids), list(seqs), list(links), list(hashes)]
    else:
        sql = (
            f"WITH s (id, seq, prev_hash, hash) AS (VALUES {', '.join(['(%s, %s, %s, %s)'] * len(rows))}) "  # noqa: S608
            f"UPDATE {_TABLE} SET seq = s.seq, prev_hash = s.prev_hash, hash = s.hash "
            f"FROM s WHERE {_TABLE}.id = s.id AND {_TABLE}.seq IS NULL"
        )
        params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_BULK_DEFAULTS = dict.fromkeys(_BULK_FIELDS, "") | {"user_id": None, "patient_id": None, "ip": None}
_PG_ARRAY_TYPES = {"at": "timestamptz", "user_id": "bigint", "patient_id": "bigint", "ip": "inet"}


def bulk_record(entries, *, using="default", batch_size=5000):
    """Write many entries at once (an import, the benchmark's large trail), unsealed, with their
    macs; the caller then calls `seal(using=...)`. Each entry is a dict of at, user_id, username,
    name, action, object_type, object_id, patient_id, summary, ip, user_agent, request_id.
    The one path around "one entry at a time" (AuditEntryQuerySet.bulk_create refuses): one INSERT
    per batch, which is what makes a million entries a matter of a minute or two. Returns how many."""
    connection = connections[using]
    fields = [AuditEntry._meta.get_field(name) for name in _BULK_FIELDS]
    columns = [field.column for field in fields] + ["mac"]
    written, entries = 0, iter(entries)
    while chunk := list(islice(entries, batch_size)):
        rows = []
        for values in chunk:
            if set(values) - set(_BULK_FIELDS):
                raise TypeError(f"bulk_record does not know {sorted(set(values) - set(_BULK_FIELDS))}")
            entry = SimpleNamespace(**(_BULK_DEFAULTS | values))
            mac = entry_mac(entry, secrets.token_hex(_NONCE_CHARS // 2))
            rows.append([field.get_db_prep_save(getattr(entry, field.attname), connection) for field in fields] + [mac])
        with transaction.atomic(using=using), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                arrays = ", ".join(f"%s::{_PG_ARRAY_TYPES.get(name, 'text')}[]" for name in _BULK_FIELDS + ["mac"])
                cursor.execute(
                    f"INSERT INTO {_TABLE} ({', '.join(columns)}) SELECT * FROM unnest({arrays})",  # noqa: S608
                    [list(column) for column in zip(*rows, strict=True)],
                )
            else:
                cursor.executemany(
                    f"INSERT INTO {_TABLE} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608
                    rows,
                )
        written += len(rows)
    return written


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
            super().save(*args, **kwargs)
            if adding:
                action, summary = self.audit_create_action(), ""
            else:
                changes = self._audit_changes(kwargs.get("update_fields"))
                if changes == {}:
                    self._remember_loaded()
                    return
                action, summary = self.audit_action(changes) if changes else (Action.CHANGE, "")
            record(action, self, summary=summary, using=using)
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
    seq: int | None  # None: an entry not sealed yet, named by entry_id
    problem: str
    entry_id: int | None = None

    @property
    def where(self):
        return f"#{self.seq}" if self.seq is not None else f"unsealed (id {self.entry_id})"


def verify(*, using="default", chunk_size=2000):
    """Seal what is waiting, then check the trail: the chain of sealed entries in order (none
    missing, each linked to the one before, each matching its hash and its mac), then the entries
    still unsealed (each matching its mac, none overdue) and that no entry is a copy of another.
    Returns (sealed entries checked, head entry or None, [Break])."""
    seal(using=using)
    entries = AuditEntry.objects.using(using)
    breaks, count, previous = [], 0, None
    for entry in entries.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=chunk_size):
        count += 1
        expected_seq = previous.seq + 1 if previous else 1
        expected_prev = previous.hash if previous else GENESIS
        if entry.seq != expected_seq:
            breaks.append(Break(entry.seq, f"entries {expected_seq}–{entry.seq - 1} are missing", entry.pk))
        if entry.prev_hash != expected_prev:
            breaks.append(Break(entry.seq, "does not link to the entry before it", entry.pk))
        if not hmac.compare_digest(entry.hash or "", entry_hash(entry)) or (
            entry.mac and not hmac.compare_digest(entry.mac, entry_mac(entry))
        ):
            breaks.append(Break(entry.seq, "its content does not match its hash (edited)", entry.pk))
        previous = entry
    overdue = timezone.now() - SEALING_OVERDUE
    for entry in entries.filter(seq__isnull=True).order_by("id").iterator(chunk_size=chunk_size):
        if not entry.mac or not hmac.compare_digest(entry.mac, entry_mac(entry)):
            breaks.append(Break(None, "its content does not match its mac (edited or forged)", entry.pk))
        elif entry.at < overdue:
            # seal() just ran: another connection holds the sealing lock and is not finishing.
            breaks.append(Break(None, "not sealed into the chain a minute after it was written", entry.pk))
    copies = entries.exclude(mac="").values("mac").annotate(n=Count("id")).filter(n__gt=1)
    for copy in copies.values_list("mac", flat=True):
        for entry in entries.filter(mac=copy).order_by("id")[1:]:
            breaks.append(Break(entry.seq, "a copy of another entry (inserted)", entry.pk))
    return count, previous, breaks
