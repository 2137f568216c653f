"""Archiving a patient cancels their appointments still to come.

patients.services.archive_patient calls `cancel_for_archiving` through its ARCHIVING slot (registered in
scheduling/apps.py), inside the archive's transaction: every cancellation goes through
scheduling.services.cancel_appointment (the one door, audited), and if one fails the whole archive
is undone, the cancellations before it included.
"""

from django.core.exceptions import ValidationError

from .queries import appointments_archiving_cancels
from .services import cancel_appointment

REASON_NEEDED = "Say why: the patient's appointments still to come are cancelled with this reason."
MAY_NOT_CANCEL = "Archiving this record cancels appointments, which you may not do. Ask a receptionist."


def cancel_for_archiving(*, patient, reason, by) -> str:
    """Cancel the patient's appointments still to come with `reason`; a sentence saying how many."""
    to_cancel = list(appointments_archiving_cancels(patient))
    if not to_cancel:
        return ""
    if not by.has_perm("scheduling.cancel_appointment"):
        raise ValidationError(MAY_NOT_CANCEL)
    if not reason:
        raise ValidationError({"reason": REASON_NEEDED})
    for appointment in to_cancel:
        cancel_appointment(appointment=appointment, reason=reason, by=by)
    count = len(to_cancel)
    return f"{count} appointment{'s' if count != 1 else ''} still to come cancelled."
