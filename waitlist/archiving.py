"""Archiving a patient takes them off the waitlist: patients.services.archive_patient calls this through its
ARCHIVING slot (registered in waitlist/apps.py), inside the archive's transaction. Each entry leaves through
services.remove_entry (audited; its open offers closed, so a link already sent books nothing)."""

from .models import WaitlistEntry
from .services import remove_entry


def leave_waitlist_on_archiving(*, patient, reason, by) -> str:
    entries = list(WaitlistEntry.objects.filter(patient=patient, status=WaitlistEntry.Status.WAITING).order_by("pk"))
    why = f"Record archived: {reason}" if reason else "Record archived"
    for entry in entries:
        remove_entry(entry=entry, reason=why, by=by)
    if not entries:
        return ""
    return f"Taken off the waitlist ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'})."
